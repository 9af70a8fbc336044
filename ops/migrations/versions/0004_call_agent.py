"""call agent: per-account call scripts, closers on duty

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_scripts",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("script", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("account_id"),
    )
    # users.phone exists since 0001; a closer is an active user on duty with a phone
    op.add_column("users", sa.Column("on_duty", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index("ix_users_on_duty", "users", ["account_id"], postgresql_where=sa.text("on_duty"))


def downgrade() -> None:
    op.drop_index("ix_users_on_duty", table_name="users")
    op.drop_column("users", "on_duty")
    op.drop_table("call_scripts")
