"""Parts of a call as the SDK reads them (``call_retrieve_response.py``), for OpenAPI.

Responses are built as plain data by ``services.calls.to_wire``; these models document
the shape. Every SDK version from 0.1.1 to 0.5.0 validates it (docs/calls.md).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from openrevox.domain.outcomes import Outcome
from openrevox.domain.scheduling import AttemptResult, AttemptStatus, DialError
from openrevox.schemas.common import WireModel

EndReason = Literal[
    "client_initiated",
    "connection_timeout",
    "human_takeover",
    "ivr_no_navigate",
    "max_duration",
    "participant_removed",
    "tool_end_call",
    "transfer",
    "user_inactive",
    "user_rejected",
    "user_unavailable",
    "voicemail",
    "speed_dial_abandoned",
    "speed_dial_operator_missed",
    "speed_dial_timeout",
    "speed_dial_hangup",
]
Direction = Literal["inbound", "outbound"]


class Member(WireModel):
    """A member of the organization (assignee, handler)."""

    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None


class TranscriptEntry(WireModel):
    content: str
    role: Literal["user", "assistant", "human_agent", "tool"]
    tool_arguments: dict[str, Any] | str | None = None
    tool_is_error: bool | None = None
    tool_name: str | None = None
    tool_output: str | None = None


class EmailLogEntry(WireModel):
    id: str
    created_at: str
    from_address: str
    resend_message_id: str | None = None
    subject: str
    to_emails: list[str]


class SmsLogEntry(WireModel):
    id: str
    created_at: str
    message_body: str
    provider: Literal["twilio", "vonage"]
    provider_message_id: str | None = None
    to_phone_number: str
    type: Literal["in_call", "voicemail", "after_call"]


class SpeechEvent(WireModel):
    id: str
    is_real_turn: bool
    speaker: Literal["user", "agent"]
    started_speaking_at_ms: float
    stopped_speaking_at_ms: float | None = None
    transcript: str | None = None
    llm_system_prompt: str | None = None
    llm_ttft_ms: float | None = None
    llm_winner_model: str | None = None
    stt_transcription_delay_ms: float | None = None
    tts_ttfb_ms: float | None = None
    was_cut: bool | None = None


class CallAttemptOut(WireModel):
    """One dial of the number."""

    id: str
    status: AttemptStatus
    phone_number: str
    started_at: str | None
    answered_at: str | None
    ended_at: str | None
    result: AttemptResult | None = None
    dial_error: DialError | None = None
    ended_by: Literal["agent", "user", "system"] | None = None
    end_reason: EndReason | None = None
    handled_by_ai: bool
    handled_by_human: bool
    handled_by_user: Member | None = None
    recording_url: str | None = None
    assistants_used: list[str] | None = None
    transcript: list[TranscriptEntry] | None = None
    post_call_transcript: list[TranscriptEntry] | None = None
    speech_events: list[SpeechEvent] | None = None
    email_log: list[EmailLogEntry] | None = None
    sms_log: list[SmsLogEntry] | None = None
    structured_output: dict[str, Any] | None = None


class Contact(WireModel):
    company: str | None = None
    email: str | None = None
    first_name: str | None = None
    job_title: str | None = None
    last_name: str | None = None


class CampaignRef(WireModel):
    id: str
    name: str


class LegacyCallEntry(WireModel):
    """SDK 0.1.1 ``GET /call``: one entry per call order, shaped as its latest attempt."""

    id: str = Field(description="The call order's id (so that retrieve(id) works).")
    status: AttemptStatus
    phone_number: str
    started_at: str | None
    answered_at: str | None
    ended_at: str | None
    result: AttemptResult | None = None
    dial_error: DialError | None = None
    ended_by: Literal["agent", "user", "system"] | None = None
    end_reason: str | None = None
    recording_url: str | None = None
    structured_output: dict[str, Any] | None = None
    transcript: list[TranscriptEntry] | None = None


class PhoneHistoryEntry(WireModel):
    count: int = Field(description="Call orders placed to the number, whatever their status.")
    last_called_at: str | None = Field(description="When the latest attempt started.")
    last_outcome: Outcome | None = Field(description="The newest call's outcome that is set.")
    campaigns: list[CampaignRef]
    reached_human: bool = Field(description="An attempt to the number reached a person.")
    hot: bool = Field(description="The latest outcome is `interested`.")
    do_not_contact: bool = Field(description="A callee of the number asked not to be called.")
