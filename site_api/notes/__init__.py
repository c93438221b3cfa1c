"""Readers' private notes on pages: the JSON API under /api/notes and the queries behind it.

A note belongs to (user, page id), is versioned so no save overwrites another, and is listed,
searched and exported for its owner only.
May import: `site_api.accounts` (the signed-in user), `site_api.serving` (which pages exist),
`site_api.config`, `site_api.db`, `site_api.models`, `site_api.deps`. Never `site_api.web`.
"""
