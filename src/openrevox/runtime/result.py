"""What a call session leaves behind: transcript, speech events, how and why it ended.

Transcript items and speech events have the SDK's field names (``CallAttempt.transcript``
and ``CallAttempt.speech_events``), so ``as_wire()`` is what the API serves.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EndedBy = Literal["agent", "user", "system"]
# The SDK's end reasons we produce, plus ``user_hangup`` and ``error`` (which the wire
# shows as a null end_reason with ended_by user / system).
EndReason = Literal[
    "tool_end_call",
    "transfer",
    "max_duration",
    "user_inactive",
    "voicemail",
    "user_hangup",
    "error",
]
WIRE_END_REASONS = frozenset(
    {"tool_end_call", "transfer", "max_duration", "user_inactive", "voicemail"}
)
Role = Literal["user", "assistant", "human_agent", "tool"]


@dataclass
class TranscriptItem:
    """One line of the live transcript (SDK ``CallAttemptTranscript``)."""

    role: Role
    content: str
    tool_name: str | None = None
    tool_arguments: dict[str, Any] | str | None = None
    tool_output: str | None = None
    tool_is_error: bool | None = None

    def as_wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SpeechEvent:
    """One speech segment (SDK ``CallAttemptSpeechEvent``); times in ms from the start."""

    id: str
    speaker: Literal["user", "agent"]
    started_speaking_at_ms: float
    stopped_speaking_at_ms: float | None = None
    transcript: str | None = None
    is_real_turn: bool = True
    llm_ttft_ms: float | None = None
    llm_winner_model: str | None = None
    llm_system_prompt: str | None = None
    tts_ttfb_ms: float | None = None
    stt_transcription_delay_ms: float | None = None
    was_cut: bool | None = None

    def as_wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaqCandidate:
    """A question the agent could not answer: a FAQ item awaiting a human answer."""

    question: str
    answer: str = ""
    needs_human_answer: bool = True
    source: Literal["ai"] = "ai"


@dataclass(frozen=True)
class TransferRequest:
    """The agent asked to hand the call to a human; telephony does the bridging."""

    label: str
    phone_number: str
    mode: Literal["warm", "cold"]
    reason: str | None = None
    summary: str | None = None


@dataclass(frozen=True)
class SentSms:
    """A text message the agent sent during the call."""

    to: str | None
    body: str
    provider: str
    provider_message_id: str | None = None


@dataclass
class CallResult:
    """How a call session ended and what it recorded."""

    ended_by: EndedBy
    end_reason: EndReason
    transcript: list[TranscriptItem] = field(default_factory=list)
    speech_events: list[SpeechEvent] = field(default_factory=list)
    error: str | None = None
    faq_candidates: list[FaqCandidate] = field(default_factory=list)
    transfer: TransferRequest | None = None
    sms: list[SentSms] = field(default_factory=list)
    dtmf: list[str] = field(default_factory=list)
    duration_secs: float = 0.0
    # Which speech engines ran: {"tts": "local-piper", "stt": "local-pocketsphinx"}
    # (``CallAudio.engines``); empty on the text transport.
    engines: dict[str, str] = field(default_factory=dict)
    # Why the call was taken for a voicemail ("greeting phrase: leave a message",
    # "beep", ...), when it was; end_reason is then "voicemail".
    voicemail_reason: str | None = None

    @property
    def wire_end_reason(self) -> str | None:
        """``end_reason`` as the SDK knows it (null for a hang-up or an error)."""
        return self.end_reason if self.end_reason in WIRE_END_REASONS else None


def tool_output_text(output: Any) -> str:
    """A tool's result as the text the transcript and the LLM see."""
    return output if isinstance(output, str) else json.dumps(output, default=str)
