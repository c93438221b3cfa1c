"""The HTTP surface: the ASGI app and its wiring, errors, security headers, CSRF, views, routes.

Owns `create_app` (which joins the page server, the API and the capabilities), error answers,
the cross-site write guard and security headers (`security`), server-rendered pages inside the
site's frame (`views`, `templates/`), the form routes for accounts, reports and the editorial
desk (`routes/`) and the OpenID
Connect sign-in routes (`oidc`).
May import every other package; nothing but the entry points (`cli`, `asgi`) imports it.
"""
