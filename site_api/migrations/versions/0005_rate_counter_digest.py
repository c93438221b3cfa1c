"""Rate counters keyed by a fixed-length digest: no address length can overflow the column.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Counters last at most an hour: the readable keys are dropped, not converted."""
    op.execute("DELETE FROM rate_counter")
    with op.batch_alter_table("rate_counter") as batch:
        batch.alter_column("key", type_=sa.String(length=64), existing_type=sa.String(length=255))


def downgrade() -> None:
    """Back to readable keys (the digests are meaningless to the old code)."""
    op.execute("DELETE FROM rate_counter")
    with op.batch_alter_table("rate_counter") as batch:
        batch.alter_column("key", type_=sa.String(length=255), existing_type=sa.String(length=64))
