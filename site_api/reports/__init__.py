"""Problem reports: a reader tells the editors something in a topic is wrong or out of date.

Owns checking a report (lengths, plain text, an optional reply address), storing it with the
page id in `problem_report`, and the message to the editors when `SITE_EDITORIAL_EMAIL` is set.
Reports are plain text, stored and mailed as typed, and only ever shown as text.
May import: `site_api.accounts` (mail, rate limits, address checks), `site_api.config`,
`site_api.db`, `site_api.models`, `site_api.deps`. Never `site_api.web`.
"""
