"""The publisher's desk: what editors see at `/editorial/` (the web layer draws it).

Owns triage of readers' problem reports (status, the editors' private remark, filters, CSV),
the review queue as `site-api review` computes it, the unanswered searches of the last 7 and 30
days (read from `site_api.search.misses`), and reading the meter funnel's counters
(`site_api.serving.funnel` writes them): date ranges, daily and per-topic totals, conversion,
CSV, and the server-rendered SVG plots with their tables.
May import: `site_api.config`, `site_api.db`, `site_api.models`, `site_api.deps`,
`site_api.content`, `site_api.accounts`, `site_api.serving`, `site_api.search`,
`site_api.reports`. Never `site_api.web`.
"""
