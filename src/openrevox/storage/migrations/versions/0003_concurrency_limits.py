"""concurrency limits per concurrency.key, set server-side (``openrevox concurrency``)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 06:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "concurrency_limits",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_concurrency_limits")),
    )


def downgrade() -> None:
    op.drop_table("concurrency_limits")
