"""Accounts: passwords, verified email, editors, email tokens, OpenID identities, rate counters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _user_fk() -> sa.Column:
    return sa.Column(
        "user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    """Add the account columns and tables."""
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("is_editor", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "email_token",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        _user_fk(),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_email_token_user_id", "email_token", ["user_id"])
    op.create_table(
        "oidc_identity",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        _user_fk(),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("provider", "subject"),
    )
    op.create_index("ix_oidc_identity_user_id", "oidc_identity", ["user_id"])
    op.create_table(
        "rate_counter",
        sa.Column("key", sa.String(length=255), primary_key=True),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Remove them."""
    op.drop_table("rate_counter")
    op.drop_table("oidc_identity")
    op.drop_table("email_token")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("is_editor")
        batch.drop_column("email_verified_at")
        batch.drop_column("password_hash")
