"""The telephony interface the dispatcher dials through.

A provider carries one attempt from dialling to its end: ``place_call`` returns only when
the attempt is over, with its ``AttemptOutcome``. Along the way it reports progress
(ringing, answered) through ``AttemptProgress`` so the attempt's row follows the call.
Vendor errors are translated at the edge into ``TelephonyError`` or a dial error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

# The SDK's attempt vocabulary (revox.types.call_retrieve_response.CallCallAttempt).
AttemptResult = Literal["IVR", "voicemail", "human", "unknown", "ios-screening-filter"]
DialError = Literal[
    "number_non_attributed",
    "too_many_calls",
    "busy",
    "temporarily_unavailable",
    "no_answer",
    "no_international_permission",
    "precondition_failed",
    "non_classified_error",
]
EndedBy = Literal["agent", "user", "system"]


class TelephonyError(Exception):
    """The provider could not place or control a call (not a dial outcome such as busy)."""


@dataclass(frozen=True)
class DialRequest:
    """One attempt to dial: who, from which number, and the agent that will talk."""

    attempt_id: str
    call_id: str
    organization_id: str
    to_number: str
    from_number: str | None
    assistant: dict[str, Any]
    prompt_variables: dict[str, str]
    attempt_number: int = 1


@dataclass
class AttemptOutcome:
    """How an attempt ended, in the SDK's terms; the runtime's records when answered."""

    status: Literal["completed", "error"]
    started_at: datetime
    ended_at: datetime
    result: AttemptResult | None = None
    dial_error: DialError | None = None
    answered_at: datetime | None = None
    ended_by: EndedBy | None = None
    end_reason: str | None = None
    error: str | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    speech_events: list[dict[str, Any]] = field(default_factory=list)
    sms_log: list[dict[str, Any]] = field(default_factory=list)
    faq_candidates: list[dict[str, Any]] = field(default_factory=list)
    recording_path: str | None = None
    provider_call_id: str | None = None
    engine: dict[str, Any] = field(default_factory=dict)

    @property
    def reached_human(self) -> bool:
        return self.result == "human"


class AttemptProgress(Protocol):
    """Where a provider reports an attempt's progress (the dispatcher records it)."""

    async def ringing(self, provider_call_id: str | None) -> None: ...

    async def answered(self, at: datetime) -> None: ...


class TelephonyProvider(Protocol):
    """Dials through one vendor (or the simulated network)."""

    name: str

    async def place_call(self, request: DialRequest, progress: AttemptProgress) -> AttemptOutcome:
        """Dial and carry the attempt to its end; return how it ended."""
        ...

    async def hang_up(self, attempt_id: str) -> None:
        """End a live attempt now (a cancelled order, a worker shutting down)."""
        ...
