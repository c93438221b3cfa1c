"""Clinical search for readers: the query side of the build's SQLite FTS5 index.

Owns how a query becomes a match (spellings, one typo, prefixes, editors' synonyms, exact titles
and aliases first), who may see a body snippet (signed in, or a free page, or one already counted
in the meter cookie; searching never spends), the JSON API `/api/search`, and the counts of
queries that found nothing (per normalised query and day, no reader stored).
The index itself is built in `site_api.content.search_index`.
May import: `site_api.content` (the index's schema and normalisation), `site_api.accounts` (the
signed-in reader), `site_api.serving` (the meter cookie and its rules), `site_api.config`,
`site_api.db`, `site_api.models`, `site_api.deps`. Never `site_api.web`.
"""
