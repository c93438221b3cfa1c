"""Problem reports, saved topics, recently viewed topics, and the switch for the latter.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `problem_report`, `saved_topic`, `recent_topic`; add `user.keep_recent`."""
    op.create_table(
        "problem_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=500), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_problem_report_page_id", "problem_report", ["page_id"])
    op.create_index("ix_problem_report_user_id", "problem_report", ["user_id"])
    for table, when in (("saved_topic", "created_at"), ("recent_topic", "viewed_at")):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column(
                "user_id",
                sa.Integer(),
                sa.ForeignKey("user.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("page_id", sa.String(length=64), nullable=False),
            sa.Column(when, sa.DateTime(), nullable=False),
            sa.UniqueConstraint("user_id", "page_id"),
        )
        op.create_index(f"ix_{table}_user_id", table, ["user_id"])
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("keep_recent", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("user") as batch:
        batch.drop_column("keep_recent")
    op.drop_table("recent_topic")
    op.drop_table("saved_topic")
    op.drop_table("problem_report")
