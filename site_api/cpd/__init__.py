"""The CPD log: what a signed-in reader who opted in read, for how long, and reflected on.

Owns the reading-time beacon (`POST /api/cpd/beacon`) and how its reports are credited
(`clock`: foreground seconds, each view's cap, one wall clock per reader so two tabs do not
count twice, a rate per reader), the batched writes of reading time (`recorder`: memory, then one
upsert per (reader, topic, day) on the funnel's timer), the counting rule and totals (`log`: an
entry counts at `SITE_CPD_MIN_SECONDS` and earns `SITE_CPD_CREDITS_PER_TOPIC` hours; months;
appraisal years), versioned reflections (`api`), downloads, and the desk's aggregates (how many
readers record, hours per week: never one reader's log).
May import: `site_api.config`, `site_api.db`, `site_api.models`, `site_api.deps`,
`site_api.content`, `site_api.accounts`, `site_api.serving`, `site_api.notes` (the text rules of a
note). Never `site_api.web`.
"""
