"""The page view: from a request path to the page, the gate page or a 404.

Owns canonical lookup over the built site (`pages`), the pure meter decision and its signed
cookie (`meter`, no I/O), the gate for both doors (the embedded server and nginx's
`auth_request` answer, `gate`), the meter funnel's in-memory counters that the gate feeds
(`funnel`), and static assets with their caching (`static`).
May import: `site_api.content` (the manifest), `site_api.accounts` (to recognise a session),
`site_api.config`. Never `site_api.web`: what it renders comes in through the `Views` protocol.
"""
