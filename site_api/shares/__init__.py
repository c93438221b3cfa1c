"""Share links: a signed-in reader makes a link that opens one topic, in full, for a colleague.

Owns the JSON API under /api/shares (create, list, revoke) and its queries: the daily limit per
reader and revocation. The token itself and the gate's check live in `site_api.serving.shares`,
since the page view (both doors) must verify it.
May import: `site_api.accounts` (the signed-in user), `site_api.serving` (pages, share tokens),
`site_api.config`, `site_api.db`, `site_api.models`, `site_api.deps`. Never `site_api.web`.
"""
