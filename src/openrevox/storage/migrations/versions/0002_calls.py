"""calls and call attempts: call orders, their attempts, the dispatcher's claim indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:40:22.946588
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("assistant_id", sa.String(length=36), nullable=True),
        sa.Column(
            "assistant_snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "prompt_variables",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("to_phone_number", sa.String(length=32), nullable=False),
        sa.Column("from_phone_number", sa.String(length=32), nullable=True),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("requested_scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("concurrency_key", sa.String(length=200), nullable=True),
        sa.Column("skip_calling_window", sa.Boolean(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=True),
        sa.Column("created_by_id", sa.String(length=36), nullable=True),
        sa.Column("assignee_id", sa.String(length=36), nullable=True),
        sa.Column("result", sa.String(length=24), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("outcome_summary", sa.Text(), nullable=True),
        sa.Column("do_not_contact", sa.Boolean(), nullable=False),
        sa.Column(
            "contact",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "structured_output",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "follow_up_emails",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "slack_channel_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("calls_count", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_calls_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistants.id"],
            name=op.f("fk_calls_assistant_id_assistants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_calls_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_calls_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_assistant_status", ["assistant_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index("ix_calls_lease", ["lease_expires_at"], unique=False)
        batch_op.create_index(
            "ix_calls_org_created", ["organization_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_calls_org_status", ["organization_id", "status"], unique=False)
        batch_op.create_index(
            "ix_calls_org_to_phone", ["organization_id", "to_phone_number"], unique=False
        )
        batch_op.create_index(
            "ix_calls_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "call_attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=24), nullable=True),
        sa.Column("dial_error", sa.String(length=40), nullable=True),
        sa.Column("ended_by", sa.String(length=10), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.Column("phone_number", sa.String(length=32), nullable=False),
        sa.Column("from_phone_number", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recording_url", sa.Text(), nullable=True),
        sa.Column(
            "transcript",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "post_call_transcript",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "speech_events",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "email_log",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "sms_log",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "structured_output",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "assistants_used",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("handled_by_ai", sa.Boolean(), nullable=False),
        sa.Column("handled_by_human", sa.Boolean(), nullable=False),
        sa.Column("handled_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("provider_call_id", sa.String(length=100), nullable=True),
        sa.Column(
            "engine",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_call_attempts_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_user_id"],
            ["users.id"],
            name=op.f("fk_call_attempts_handled_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempts")),
        sa.UniqueConstraint("call_id", "attempt_number", name=op.f("uq_call_attempts_call_id")),
    )
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_attempts_provider_call_id", ["provider", "provider_call_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_call_attempts_provider_call_id")

    op.drop_table("call_attempts")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_status_next_attempt")
        batch_op.drop_index("ix_calls_org_to_phone")
        batch_op.drop_index("ix_calls_org_status")
        batch_op.drop_index("ix_calls_org_created")
        batch_op.drop_index("ix_calls_lease")
        batch_op.drop_index(batch_op.f("ix_calls_campaign_id"))
        batch_op.drop_index("ix_calls_assistant_status")

    op.drop_table("calls")
