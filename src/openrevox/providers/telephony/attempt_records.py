"""The attempt row as the meeting point of the processes a Twilio call crosses.

The worker that dials, the process that receives Twilio's status callbacks and the one
that runs the media stream may all differ: they coordinate through ``call_attempts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from openrevox.providers.telephony.twilio_protocol import StatusChange, moves_forward
from openrevox.storage.database import Database
from openrevox.storage.models import Call, CallAttempt, utcnow
from openrevox.storage.repositories.assistants import add_learned_questions

MEDIA_KEY = "media"  # engine[MEDIA_KEY]: "running" while the media session runs, then "ended"
# engine[END_KEY]: the attempt's terminal status as Twilio's last callback said. The row's
# ``status`` may be rewritten by the dispatcher's progress reports after a callback; this
# one is only written here.
END_KEY = "twilio_end"
ANSWERED_BY_KEY = "answered_by"  # engine[...]: answering-machine detection's verdict
BRIEFING_KEY = "transfer_briefing"  # engine[...]: what a warm transfer tells the human


@dataclass(frozen=True)
class AttemptView:
    """A snapshot of the attempt row, read by the dialling worker while it waits."""

    id: str
    status: str
    provider_call_id: str | None
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    result: str | None
    dial_error: str | None
    ended_by: str | None
    end_reason: str | None
    transcript: list[dict[str, Any]]
    speech_events: list[dict[str, Any]]
    recording_url: str | None
    engine: dict[str, Any]

    @property
    def end_status(self) -> str | None:
        """``completed`` or ``error`` once Twilio reported the end of the call."""
        value = self.engine.get(END_KEY)
        return str(value) if value is not None else None

    @property
    def answered_by(self) -> str | None:
        """Answering-machine detection's verdict (``machine_end_beep``...), if any."""
        value = self.engine.get(ANSWERED_BY_KEY)
        return str(value) if value is not None else None

    @property
    def media_state(self) -> str | None:
        value = self.engine.get(MEDIA_KEY)
        return str(value) if value is not None else None


async def read_attempt(db: Database, attempt_id: str) -> AttemptView | None:
    async with db.read() as session:
        a = await session.get(CallAttempt, attempt_id)
        if a is None:
            return None
        return AttemptView(
            id=a.id,
            status=a.status,
            provider_call_id=a.provider_call_id,
            started_at=a.started_at,
            answered_at=a.answered_at,
            ended_at=a.ended_at,
            result=a.result,
            dial_error=a.dial_error,
            ended_by=a.ended_by,
            end_reason=a.end_reason,
            transcript=list(a.transcript or []),
            speech_events=list(a.speech_events or []),
            recording_url=a.recording_url,
            engine=dict(a.engine or {}),
        )


async def mark_dialled(
    db: Database,
    attempt_id: str,
    *,
    provider: str,
    provider_call_id: str | None,
    at: datetime,
    from_number: str | None = None,
) -> None:
    async with db.write() as session:
        a = await session.get(CallAttempt, attempt_id)
        if a is None:
            return
        a.provider = provider
        if provider_call_id:
            a.provider_call_id = provider_call_id
        if from_number:
            a.from_phone_number = from_number
        if a.started_at is None:
            a.started_at = at
        a.updated_at = utcnow()


async def apply_status(
    db: Database, attempt_id: str, call_sid: str | None, change: StatusChange
) -> bool:
    """Apply one status callback; idempotent, never moving a status back. False when the
    attempt is unknown or belongs to another Twilio call."""
    now = utcnow()
    async with db.write() as session:
        a = await session.get(CallAttempt, attempt_id)
        if a is None:
            return False
        if call_sid:
            if a.provider_call_id and a.provider_call_id != call_sid:
                return False
            a.provider_call_id = call_sid
            a.provider = a.provider or "twilio"
        if change.result is not None and a.result in (None, "unknown"):
            a.result = change.result
        if change.answered_by and not (a.engine or {}).get(ANSWERED_BY_KEY):
            a.engine = {**(a.engine or {}), ANSWERED_BY_KEY: change.answered_by}
        if change.status is not None and moves_forward(a.status, change.status):
            if change.answered and a.answered_at is None:
                a.answered_at = now
            a.status = change.status
            if change.dial_error is not None:
                a.dial_error = change.dial_error
            if change.ended and a.ended_at is None:
                a.ended_at = now
            if change.ended:
                a.engine = {**(a.engine or {}), END_KEY: change.status}
            if change.error is not None and a.end_reason is None:
                a.ended_by = a.ended_by or "system"
        a.updated_at = now
    return True


async def set_media_state(db: Database, attempt_id: str, state: str) -> None:
    async with db.write() as session:
        a = await session.get(CallAttempt, attempt_id)
        if a is not None:
            a.engine = {**(a.engine or {}), MEDIA_KEY: state}
            a.updated_at = utcnow()


async def set_engine_value(db: Database, attempt_id: str, key: str, value: Any) -> None:
    """One entry of the attempt's ``engine`` document (e.g. a warm transfer's briefing)."""
    async with db.write() as session:
        a = await session.get(CallAttempt, attempt_id)
        if a is not None:
            a.engine = {**(a.engine or {}), key: value}
            a.updated_at = utcnow()


async def set_ending(db: Database, attempt_id: str, ended_by: str, end_reason: str | None) -> None:
    async with db.write() as session:
        a = await session.get(CallAttempt, attempt_id)
        if a is not None:
            a.ended_by = ended_by
            a.end_reason = end_reason
            a.updated_at = utcnow()


@dataclass(frozen=True)
class MediaContext:
    """What the media session needs from the attempt and its order."""

    attempt_id: str
    call_id: str
    organization_id: str
    provider_call_id: str | None
    to_number: str
    from_number: str | None
    assistant: dict[str, Any]
    prompt_variables: dict[str, str]


async def media_context(db: Database, attempt_id: str) -> MediaContext | None:
    async with db.read() as session:
        row = (
            await session.execute(
                select(CallAttempt, Call)
                .join(Call, Call.id == CallAttempt.call_id)
                .where(CallAttempt.id == attempt_id)
            )
        ).first()
        if row is None:
            return None
        a, call = row
        return MediaContext(
            attempt_id=a.id,
            call_id=call.id,
            organization_id=call.organization_id,
            provider_call_id=a.provider_call_id,
            to_number=a.phone_number,
            from_number=a.from_phone_number or call.from_phone_number,
            assistant=dict(call.assistant_snapshot),
            prompt_variables=dict(call.prompt_variables or {}),
        )


async def store_media_records(
    db: Database,
    attempt_id: str,
    *,
    ended_by: str,
    end_reason: str | None,
    transcript: list[dict[str, Any]],
    speech_events: list[dict[str, Any]],
    engine: dict[str, Any],
    recording_url: str | None,
    sms_log: list[dict[str, Any]] | None = None,
    faq_questions: Sequence[str] = (),
) -> None:
    """The runtime's records of an answered attempt; marks the media session ended.

    Questions the agent could not answer become FAQ items of the call's assistant."""
    async with db.write() as session:
        a = await session.get(CallAttempt, attempt_id)
        if a is None:
            return
        if sms_log:
            a.sms_log = [*(a.sms_log or []), *sms_log]
        if faq_questions:
            await add_learned_questions(session, a.call_id, faq_questions, utcnow())
        if a.ended_by is None or a.end_reason is None:
            a.ended_by = ended_by
            a.end_reason = end_reason
        a.transcript = transcript
        a.speech_events = speech_events
        a.handled_by_ai = True
        a.engine = {**(a.engine or {}), **engine, MEDIA_KEY: "ended"}
        if recording_url is not None:
            a.recording_url = recording_url
        a.updated_at = utcnow()
