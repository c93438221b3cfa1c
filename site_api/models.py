"""SQLModel tables. None yet: the accounts and notes features add theirs with a migration each."""

from __future__ import annotations
