"""Baseline: an empty schema under Alembic's control, so every later table arrives as a migration.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: accounts, sessions and notes add their tables in later revisions."""


def downgrade() -> None:
    """Nothing to undo."""
