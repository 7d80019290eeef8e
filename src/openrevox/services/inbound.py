"""Inbound calls: a call to an owned number reaches its ``inbound_assistant``
(docs/phone_numbers.md).

    answer_call:   route the number -> precall lookup -> the call and its attempt
                   (``inbound``, order ``calling``, attempt ``ongoing``), or a refusal
    the runtime talks (Twilio media stream, or the simulated caller over text)
    conclude_call: attempt ended, order ``post_processing`` + its after-call job,
                   exactly as an outbound order that ends (postcall.flow)

An inbound order holds no lease: the dispatcher never claims it (it is ``calling``
from the start, with no ``next_attempt_at``), nor counts it against the limits.

On the attempt, ``phone_number`` is the caller (the person the runtime talks to, as on
an outbound attempt) and ``from_phone_number`` our number; on the order,
``to_phone_number`` is our number (the one called) and ``from_phone_number`` the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import quote

import httpx
from sqlalchemy import select

from openrevox.config import Settings
from openrevox.domain.phone_numbers import InvalidPhoneNumber, normalise
from openrevox.postcall.flow import begin_post_processing
from openrevox.services import assistants
from openrevox.services.call_snapshots import required_variables, stored_snapshot
from openrevox.storage.database import Database
from openrevox.storage.models import Call, CallAttempt, new_id, utcnow
from openrevox.storage.repositories import assistants as assistant_repo
from openrevox.storage.repositories import calls as calls_repo
from openrevox.storage.repositories import jobs as job_repo
from openrevox.storage.repositories import phone_numbers as number_repo
from openrevox.storage.repositories.assistants import add_learned_questions

log = logging.getLogger(__name__)

WATCH_INBOUND_STREAM = "watch_inbound_stream"
STREAM_NEVER_CONNECTED = "the media stream never connected"

PHONE_PLACEHOLDER = "{{phone}}"
MAX_VARIABLE_CHARS = 100_000


class PrecallLookupError(Exception):
    """The precall lookup failed: the call is errored (the SDK's documented behaviour)."""


@dataclass(frozen=True)
class InboundRoute:
    """Who answers a number: the organization's assistant, as a call snapshots it."""

    organization_id: str
    number: str
    assistant_id: str
    snapshot: dict[str, Any]

    @property
    def precall_lookup_url(self) -> str | None:
        value = self.snapshot.get("precall_lookup_url")
        return str(value) if value else None


@dataclass(frozen=True)
class InboundAnswer:
    """What became of a ringing inbound call.

    ``rejected``: nobody answers this number (nothing recorded); ``errored``: the call
    was recorded as errored (precall lookup failed, variables missing); ``accepted``: the
    call is recorded and the runtime may talk on ``attempt_id``."""

    kind: Literal["rejected", "errored", "accepted"]
    reason: str = ""
    call_id: str | None = None
    attempt_id: str | None = None
    organization_id: str | None = None
    our_number: str = ""
    caller: str = ""
    assistant: dict[str, Any] = field(default_factory=dict)
    prompt_variables: dict[str, str] = field(default_factory=dict)


def _e164(text: str) -> str | None:
    try:
        return normalise(text.strip())
    except InvalidPhoneNumber:
        return None


async def route(db: Database, number: str) -> InboundRoute | None:
    """The assistant answering ``number`` (E.164), if an organization routes it."""
    async with db.read() as session:
        for row in await number_repo.inbound_routes(session, number):
            assistant = await assistant_repo.get(
                session, row.organization_id, row.inbound_assistant_id or ""
            )
            if assistant is None:  # archived: this route answers nothing
                continue
            faq = (await assistant_repo.faq_items(session, [assistant.id]))[assistant.id]
            view = await assistants.view_of(session, assistant, faq)
            snapshot = stored_snapshot(assistants.to_wire(view), assistant.config)
            return InboundRoute(row.organization_id, number, assistant.id, snapshot)
    return None


async def precall_lookup(
    url_template: str, caller: str, settings: Settings, http: httpx.AsyncClient | None = None
) -> dict[str, str]:
    """GET the assistant's ``precall_lookup_url`` with ``{{phone}}`` replaced by the
    caller's number (URL-encoded); its ``prompt_variables`` (strings, numbers, booleans)."""
    url = url_template.replace(PHONE_PLACEHOLDER, quote(caller, safe=""))
    timeout = settings.precall_lookup_timeout_secs
    try:
        if http is None:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
        else:
            response = await http.get(url, headers={"Accept": "application/json"}, timeout=timeout)
    except httpx.TimeoutException:
        raise PrecallLookupError(f"no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise PrecallLookupError(f"request failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise PrecallLookupError(f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise PrecallLookupError("the answer is not JSON") from None
    variables = data.get("prompt_variables") if isinstance(data, dict) else None
    if not isinstance(variables, dict):
        raise PrecallLookupError('the answer has no "prompt_variables" object')
    return _variables(variables)


def _variables(given: Mapping[str, Any]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in given.items():
        if value is None:
            continue  # unknown to the lookup: missing if the assistant needs it
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            text = str(value)
        else:
            raise PrecallLookupError(f"prompt_variables.{name} is not a string, number or boolean")
        if len(text) > MAX_VARIABLE_CHARS:
            raise PrecallLookupError(f"prompt_variables.{name} is too long")
        result[str(name)] = text
    return result


async def answer_call(
    db: Database,
    settings: Settings,
    *,
    to_number: str,
    from_number: str,
    provider: str,
    provider_call_id: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> InboundAnswer:
    """Route a ringing call; record it unless nobody answers the number. The same call
    announced again (a webhook retried: same provider call id) gets the same answer."""
    if provider_call_id:
        again = await _announced(db, provider, provider_call_id)
        if again is not None:
            return again
    number = _e164(to_number)
    if number is None:
        return InboundAnswer("rejected", f"{to_number!r} is not a phone number")
    found = await route(db, number)
    if found is None:
        return InboundAnswer("rejected", f"no assistant answers {number}")
    caller = _e164(from_number) or from_number.strip()[:32] or "anonymous"
    variables: dict[str, str] = {}
    error = None
    if found.precall_lookup_url:
        try:
            variables = await precall_lookup(found.precall_lookup_url, caller, settings, http)
        except PrecallLookupError as exc:
            error = f"precall lookup failed: {exc}"
    if error is None:
        missing = required_variables(found.snapshot) - set(variables)
        if missing:
            error = "precall lookup did not give " if found.precall_lookup_url else "no "
            error += f"prompt variables {', '.join(sorted(missing))} (the assistant uses them)"
    call_id, attempt_id = await _record(
        db,
        found,
        caller,
        variables,
        provider,
        provider_call_id,
        error,
        watch_secs=settings.inbound_stream_wait_secs if provider != "simulated" else None,
    )
    common = {
        "call_id": call_id,
        "attempt_id": attempt_id,
        "organization_id": found.organization_id,
        "our_number": number,
        "caller": caller,
        "assistant": found.snapshot,
        "prompt_variables": variables,
    }
    if error is not None:
        log.warning("inbound call %s to %s errored: %s", call_id, number, error)
        return InboundAnswer("errored", error, **common)  # type: ignore[arg-type]
    return InboundAnswer("accepted", "", **common)  # type: ignore[arg-type]


async def _announced(db: Database, provider: str, provider_call_id: str) -> InboundAnswer | None:
    async with db.read() as session:
        row = (
            await session.execute(
                select(CallAttempt, Call)
                .join(Call, Call.id == CallAttempt.call_id)
                .where(
                    CallAttempt.provider == provider,
                    CallAttempt.provider_call_id == provider_call_id,
                    Call.direction == "inbound",
                )
            )
        ).first()
    if row is None:
        return None
    attempt, call = row
    if attempt.status == "ongoing":
        kind: Literal["rejected", "errored", "accepted"] = "accepted"
    elif attempt.status == "error" and call.status == "errored":
        kind = "errored"
    else:
        kind = "rejected"  # that call is over
    return InboundAnswer(
        kind,
        call.status_reason or ("" if kind == "accepted" else "the call is over"),
        call_id=call.id,
        attempt_id=attempt.id,
        organization_id=call.organization_id,
        our_number=call.to_phone_number,
        caller=attempt.phone_number,
        assistant=dict(call.assistant_snapshot),
        prompt_variables=dict(call.prompt_variables or {}),
    )


async def _record(
    db: Database,
    found: InboundRoute,
    caller: str,
    variables: dict[str, str],
    provider: str,
    provider_call_id: str | None,
    error: str | None,
    *,
    watch_secs: float | None = None,
) -> tuple[str, str]:
    now = utcnow()
    call_id, attempt_id = new_id(), new_id()
    engine: dict[str, Any] = {"telephony": provider, "direction": "inbound"}
    if error:
        engine["error"] = error
    async with db.write() as session:
        # A call back from a campaign's contact counts in that campaign.
        campaign_id = await calls_repo.latest_campaign_of_number(
            session, found.organization_id, caller
        )
        session.add(
            Call(
                id=call_id,
                organization_id=found.organization_id,
                campaign_id=campaign_id,
                assistant_id=found.assistant_id,
                assistant_snapshot=found.snapshot,
                prompt_variables=variables,
                metadata_={},
                to_phone_number=found.number,
                from_phone_number=caller,
                direction="inbound",
                status="errored" if error else "calling",
                status_reason=error,
                scheduled_at=now,
                next_attempt_at=None,
                skip_calling_window=True,
                calls_count=1,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        session.add(
            CallAttempt(
                id=attempt_id,
                call_id=call_id,
                attempt_number=1,
                status="error" if error else "ongoing",
                ended_by="system" if error else None,
                phone_number=caller,
                from_phone_number=found.number,
                started_at=now,
                answered_at=None if error else now,
                ended_at=now if error else None,
                provider=provider,
                provider_call_id=provider_call_id,
                engine=engine,
                created_at=now,
                updated_at=now,
            )
        )
        if error is None and watch_secs is not None:
            # Durable: the stream may never come (the caller hung up first, a network
            # fault); then the call is ended in error instead of staying ``calling``.
            await job_repo.enqueue(
                session,
                organization_id=found.organization_id,
                call_id=call_id,
                kind=WATCH_INBOUND_STREAM,
                payload={"attempt_id": attempt_id},
                now=now,
                run_at=now + timedelta(seconds=watch_secs),
                give_up_at=now + timedelta(seconds=watch_secs) + timedelta(hours=1),
            )
    return call_id, attempt_id


async def conclude_call(
    db: Database,
    attempt_id: str,
    *,
    records: Mapping[str, Any] | None = None,
    faq_questions: list[str] | None = None,
) -> bool:
    """The conversation is over: end the attempt (with ``records`` written on it when the
    runtime's records are not stored yet), and move the order to ``post_processing`` with
    its after-call job. Idempotent; False when there was nothing to conclude."""
    now = utcnow()
    async with db.write() as session:
        row = (
            await session.execute(
                select(CallAttempt, Call)
                .join(Call, Call.id == CallAttempt.call_id)
                .where(CallAttempt.id == attempt_id, Call.direction == "inbound")
            )
        ).first()
        if row is None:
            return False
        attempt, call = row
        if attempt.status in ("completed", "error"):
            return False
        for name, value in (records or {}).items():
            setattr(attempt, name, value)
        if faq_questions:
            await add_learned_questions(session, call.id, faq_questions, now)
        spoke = any(item.get("role") == "user" for item in attempt.transcript or [])
        failed = bool((attempt.engine or {}).get("error")) and not attempt.transcript
        attempt.status = "error" if failed else "completed"
        attempt.result = "human" if spoke else "unknown"
        attempt.handled_by_ai = True
        attempt.ended_by = attempt.ended_by or "system"
        attempt.ended_at = attempt.ended_at or now
        attempt.updated_at = now
        call.result = attempt.result
        call.updated_at = now
        if call.status == "calling":  # not cancelled meanwhile
            call.status = "post_processing"
            call.status_reason = None
            await begin_post_processing(
                session, call_id=call.id, organization_id=call.organization_id, now=now
            )
    return True
