"""SQLAlchemy tables. Assistant configuration is one JSON document in the wire format."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


def new_ids(count: int) -> list[str]:
    """``count`` ids for one bulk insert, in increasing order: RFC 9562 version 7 UUIDs,
    written as ``new_id`` writes its own. The time in ms, then a counter (the 12 bits of
    ``rand_a`` and the first 8 of ``rand_b``, RFC 9562 6.2 method 1), then 54 random bits:
    the rows of a campaign then go to the end of each id index, not to random pages of it
    (on PostgreSQL a third less time for the rows of a 100,000-contact campaign)."""
    ms = time.time_ns() // 1_000_000
    pool = os.urandom(7 * count)
    from_bytes = int.from_bytes
    ids = []
    for index in range(count):
        stamp = ms + (index >> _COUNTER_BITS)
        counter = index & _COUNTER_MASK
        value = (
            (stamp << 80)
            | (0x7 << 76)
            | ((counter >> 8) << 64)
            | (0b10 << 62)
            | ((counter & 0xFF) << 54)
            | (from_bytes(pool[7 * index : 7 * index + 7], "big") & _RANDOM_MASK)
        )
        h = f"{value:032x}"
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


_COUNTER_BITS = 20
_COUNTER_MASK = (1 << _COUNTER_BITS) - 1
_RANDOM_MASK = (1 << 54) - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware ones")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str | None] = mapped_column(String(2))
    # Signs webhook events (``openrevox webhooks secret``); made on first use.
    webhook_secret: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("organization_id", "email"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    has_completed_onboarding: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An API key; only its SHA-256 digest is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Assistant(Base):
    """An assistant. ``config`` holds every configurable field except name, type and FAQ.

    Deleting an assistant archives it (``deleted_at``): it disappears from the API while
    anything recorded against it keeps a valid reference.
    """

    __tablename__ = "assistants"
    __table_args__ = (Index("ix_assistants_org_created", "organization_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20), default="standalone")
    config: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FaqItem(Base):
    """A question and answer the agent knows; ``source`` ai ones may await a human answer."""

    __tablename__ = "faq_items"
    __table_args__ = (Index("ix_faq_items_assistant_position", "assistant_id", "position"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    assistant_id: Mapped[str] = mapped_column(ForeignKey("assistants.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    needs_human_answer: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(10), default="human")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Call(Base):
    """A call order, resolved over one or more attempts (docs/calls.md).

    ``assistant_snapshot`` is the assistant the call runs with, in wire form
    (``services.assistants.to_wire``) with secrets unmasked; it is masked on output.
    The dispatcher claims due orders on ``(status, next_attempt_at)`` under a lease
    (``claimed_by``, ``lease_expires_at``).
    """

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_calls_org_created", "organization_id", "created_at"),
        Index("ix_calls_org_to_phone", "organization_id", "to_phone_number"),
        Index("ix_calls_org_status", "organization_id", "status"),
        Index("ix_calls_assistant_status", "assistant_id", "status"),
        Index("ix_calls_lease", "lease_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # Null for an inline assistant; assistants are archived, never deleted.
    assistant_id: Mapped[str | None] = mapped_column(
        ForeignKey("assistants.id", ondelete="SET NULL")
    )
    assistant_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    prompt_variables: Mapped[dict[str, str]] = mapped_column(JSONDocument, default=dict)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONDocument, default=dict)
    to_phone_number: Mapped[str] = mapped_column(String(32))
    # The number asked for on the call; null: the snapshot's, else the trunk's default
    # (the attempt records the number it dialled from).
    from_phone_number: Mapped[str | None] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(10), default="outbound")
    status: Mapped[str] = mapped_column(String(24))
    # Why the order waits or failed (e.g. the concurrency limit reached); never on the wire.
    status_reason: Mapped[str | None] = mapped_column(Text)
    # What the caller asked for; ``scheduled_at`` is the planned start (in a window).
    requested_scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the next attempt may start; kept through a pause, null when none is planned.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    concurrency_key: Mapped[str | None] = mapped_column(String(200))
    skip_calling_window: Mapped[bool] = mapped_column(Boolean, default=False)
    campaign_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The latest attempt's result (IVR, voicemail, human, ...): searched and exported.
    result: Mapped[str | None] = mapped_column(String(24))
    outcome: Mapped[str | None] = mapped_column(String(40))
    outcome_summary: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)  # after-call analysis (webhooks, email)
    # Set by post-call analysis when the callee asks never to be called again.
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    structured_output: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    follow_up_emails: Mapped[list[str] | None] = mapped_column(JSONDocument)
    slack_channel_ids: Mapped[list[str] | None] = mapped_column(JSONDocument)
    calls_count: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallAttempt(Base):
    """One dial of a call order's number, with what happened on it."""

    __tablename__ = "call_attempts"
    __table_args__ = (
        UniqueConstraint("call_id", "attempt_number"),
        Index("ix_call_attempts_provider_call_id", "provider", "provider_call_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    # The call's campaign, kept by the database (triggers of migration 0010): never set.
    campaign_id: Mapped[str | None] = mapped_column(String(36))
    attempt_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    result: Mapped[str | None] = mapped_column(String(24))
    dial_error: Mapped[str | None] = mapped_column(String(40))
    ended_by: Mapped[str | None] = mapped_column(String(10))
    end_reason: Mapped[str | None] = mapped_column(String(40))
    phone_number: Mapped[str] = mapped_column(String(32))
    from_phone_number: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recording_url: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    post_call_transcript: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    speech_events: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    email_log: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    sms_log: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    structured_output: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    assistants_used: Mapped[list[str] | None] = mapped_column(JSONDocument)
    handled_by_ai: Mapped[bool] = mapped_column(Boolean, default=False)
    handled_by_human: Mapped[bool] = mapped_column(Boolean, default=False)
    handled_by_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # Telephony: which provider dialled (simulated, twilio, ...) and its call id.
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_call_id: Mapped[str | None] = mapped_column(String(100))
    # Which engine ran the call: worker, STT/TTS/LLM services and versions.
    engine: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConcurrencyLimit(Base):
    """A server-side limit of calls at once per ``concurrency.key`` (``openrevox concurrency``).

    The key applies in every organization (keys are named by the operator).
    """

    __tablename__ = "concurrency_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    """A durable unit of after-call work: analysis or one delivery of one channel.

    Claimed under a lease like call orders; retried with backoff until ``give_up_at``.
    A webhook job's id is its event id, the same on every try.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # analyse_call, webhook, email, sms, slack, zoho
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # running, succeeded, failed
    tries: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    give_up_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobTry(Base):
    """One try of a job: the delivery log (status code, latency, error)."""

    __tablename__ = "job_tries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    try_number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latency_ms: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class Campaign(Base):
    """An outbound campaign: a list of contacts, each a call of ``calls`` (``campaign_id``)
    in ``not_launched`` until launched (docs/campaigns.md).

    ``call_retry_config`` (wire form, null: the assistant's) is copied into the snapshot of
    its calls, and ``from_phone_number`` onto them; ``max_concurrent_calls`` bounds its
    calls at once in the dispatcher's admission. Deleting archives (``deleted_at``).
    """

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_org_created", "organization_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    assistant_id: Mapped[str] = mapped_column(ForeignKey("assistants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    call_retry_config: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    from_phone_number: Mapped[str | None] = mapped_column(String(32))
    max_concurrent_calls: Mapped[int | None] = mapped_column(Integer)
    # The first launch; the scheduled_at it asked for (wire ``scheduled_at``).
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignRow(Base):
    """One contact of a campaign, as given (``input_data``), and the call made for it."""

    __tablename__ = "campaign_rows"
    __table_args__ = (UniqueConstraint("campaign_id", "row_index"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    row_index: Mapped[int] = mapped_column(Integer)
    phone_number: Mapped[str] = mapped_column(String(32))
    input_data: Mapped[dict[str, str]] = mapped_column(JSONDocument, default=dict)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)


class ClonedVoice(Base):
    """A voice an organization cloned through a vendor (Cartesia), docs/voices.md.

    ``provider_voice_id`` is the vendor's id, the one assistants put in ``voice.id``.
    Deleting marks ``deleted_at`` (the vendor's voice is deleted too): the row stays so the
    id is never shown to, nor usable by, another organization through the catalog.
    """

    __tablename__ = "voices"
    __table_args__ = (
        UniqueConstraint("provider", "provider_voice_id"),
        Index("ix_voices_org_created", "organization_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_voice_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PhoneNumber(Base):
    """A phone number an organization owns (or verified as a caller id), docs/phone_numbers.md.

    Calls, assistants and campaigns may only use an owned number as ``from_phone_number``;
    a call to it reaches ``inbound_assistant_id``. A number is at most once in an
    organization, and routes inbound calls for at most one organization.
    """

    __tablename__ = "phone_numbers"
    __table_args__ = (
        UniqueConstraint("organization_id", "phone_number"),
        Index("ix_phone_numbers_phone_number", "phone_number"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    phone_number: Mapped[str] = mapped_column(String(32))  # E.164
    provider: Mapped[str] = mapped_column(String(10))  # twilio, telnyx, sip
    source: Mapped[str] = mapped_column(String(24), default="user_imported")
    type: Mapped[str] = mapped_column(String(24), default="owned_number")
    label: Mapped[str | None] = mapped_column(String(200))
    inbound_sip_uri: Mapped[str | None] = mapped_column(Text)
    inbound_assistant_id: Mapped[str | None] = mapped_column(
        ForeignKey("assistants.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
