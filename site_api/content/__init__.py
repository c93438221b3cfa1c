"""What a topic is and how the build turns Markdown into pages.

Owns the content model (front matter schema, authors, references), citations, the build manifest
that the server reads, and the MkDocs hook, which is a thin adapter over the rest so that a later
change of build engine touches one module. Later: the search index build and update history.
May import: `site_api.config` and the standard library, MkDocs in the hook only; the hook (and
only it) also `site_api.calculators`, whose files the build checks and places in topics. Never the
database, the web layer or any other reader capability: the server depends on content, not the
reverse.
"""
