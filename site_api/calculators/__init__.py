"""Clinical calculators as content: scores editors define as data, the build verifies, readers use.

Owns the calculator file's schema (`schema`), loading it with `path:line: field: message` errors
(`load`), the one Python evaluation of a calculator (`evaluate`: the server's; the page's
JavaScript mirrors it and a browser test proves them equal), the build's checks (`checks`: every
worked example evaluates to its result, bands cover their ranges without gaps or overlaps, every
reachable band edge has an example), the form's HTML (`render`), and the build artifact the
server reads (`artifact`). Nothing a reader enters is stored or logged.
May import: `site_api.content` (the YAML loader with lines, `ContentError`, `Reference`),
`site_api.config`. Never `site_api.web` or `site_api.serving`.
"""
