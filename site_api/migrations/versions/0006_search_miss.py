"""Search queries that found nothing, counted per normalised query and day.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `search_miss`."""
    op.create_table(
        "search_miss",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("query", sa.String(length=100), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("search_miss")
