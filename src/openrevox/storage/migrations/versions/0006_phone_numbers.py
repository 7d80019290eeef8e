"""phone numbers owned by organizations, inbound routing (issue 7)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 08:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "phone_numbers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("phone_number", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("inbound_sip_uri", sa.Text(), nullable=True),
        sa.Column("inbound_assistant_id", sa.String(length=36), nullable=True),
        sa.Column("created_by_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_phone_numbers_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_assistant_id"],
            ["assistants.id"],
            name=op.f("fk_phone_numbers_inbound_assistant_id_assistants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_phone_numbers_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_numbers")),
        sa.UniqueConstraint(
            "organization_id", "phone_number", name=op.f("uq_phone_numbers_organization_id")
        ),
    )
    op.create_index("ix_phone_numbers_phone_number", "phone_numbers", ["phone_number"])


def downgrade() -> None:
    op.drop_index("ix_phone_numbers_phone_number", table_name="phone_numbers")
    op.drop_table("phone_numbers")
