"""Who the reader is: users and passwords, sessions, single-use tokens, OpenID identities, mail.

Owns account rules (`users`: addresses, argon2id passwords, NIST checks), server-side sessions
and their per-worker cache (`sessions`), emailed tokens (`tokens`), linking an OpenID identity to
an account (`oidc`), outgoing mail (`mail`), rate limits shared through the database
(`ratelimit`) and the FastAPI dependencies that name the signed-in user (`deps`).
May import: `site_api.config`, `site_api.db`, `site_api.models`, `site_api.deps`. Never
`site_api.web`, `site_api.serving` or another capability.
"""
