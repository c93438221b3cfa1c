"""Clinical Notebook's server: content model and build, the gated page view, accounts and notes.

Packages by domain (see each package's docstring for what it owns and may import):
`content` → `accounts` → `serving` → `notes` → `web`, over the process-wide modules `config`,
`db`, `models`, `deps` and `health`; `cli` and `asgi` are the entry points.
"""
