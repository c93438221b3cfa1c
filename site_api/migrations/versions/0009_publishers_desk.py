"""The publisher's desk: a role per user, report triage, and the meter funnel's counters.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """`user.role` replaces `user.is_editor`; `problem_report` gets a status and a remark;
    `funnel_count` holds (day, page, event) aggregates."""
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="reader")
        )
    op.execute("UPDATE \"user\" SET role = 'editor' WHERE is_editor")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("is_editor")
    with op.batch_alter_table("problem_report") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="new")
        )
        batch.add_column(sa.Column("remark", sa.Text(), nullable=False, server_default=""))
    op.create_index("ix_problem_report_status", "problem_report", ["status"])
    op.create_table(
        "funnel_count",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("page_id", sa.String(length=64), primary_key=True),
        sa.Column("event", sa.String(length=32), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Back to `is_editor`, without the triage columns and the counters."""
    op.drop_table("funnel_count")
    op.drop_index("ix_problem_report_status", "problem_report")
    with op.batch_alter_table("problem_report") as batch:
        batch.drop_column("remark")
        batch.drop_column("status")
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("is_editor", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE \"user\" SET is_editor = (role = 'editor')")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("role")
