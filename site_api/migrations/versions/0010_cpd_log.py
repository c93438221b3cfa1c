"""The CPD log: the reader's switch and certificate details, reading time, reflections.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `user.cpd_on`, `user.cpd_name`, `user.cpd_registration`; create `cpd_reading` and
    `cpd_reflection`."""
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("cpd_on", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("cpd_name", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("cpd_registration", sa.String(length=50), nullable=False, server_default="")
        )
    op.create_table(
        "cpd_reading",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("page_id", sa.String(length=64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("seconds", sa.Integer(), nullable=False),
    )
    op.create_table(
        "cpd_reflection",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("learned", sa.Text(), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("further", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "page_id", "day"),
    )
    op.create_index("ix_cpd_reflection_user_id", "cpd_reflection", ["user_id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_table("cpd_reflection")
    op.drop_table("cpd_reading")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("cpd_registration")
        batch.drop_column("cpd_name")
        batch.drop_column("cpd_on")
