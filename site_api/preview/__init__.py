"""The editor's preview (`site-api preview`): the real site, its gate and notes API, on a port of
its own, rebuilt and swapped as the editor saves, with a clearly marked bar to view a page as an
anonymous visitor with pages left, one past the meter, or a signed-in preview account.

It owns the watcher that rebuilds, the preview's own site link, database and account under
`var/preview/`, and the ASGI wrapper that adds the bar and the reload script. It never runs with
`SITE_ENV=production`.
May import: `site_api.web` (the app it wraps), `site_api.notes`, `site_api.serving`,
`site_api.accounts`, `site_api.content`, `site_api.config`, `site_api.db`, `site_api.models`.
"""
