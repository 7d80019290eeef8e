"""Call use cases: place, read, cancel, pause, resume, search, phone history (docs/calls.md)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.assistant_defaults import DEFAULT_CONFIG
from openrevox.domain.identifiers import is_resource_id
from openrevox.domain.phone_numbers import InvalidPhoneNumber, normalise
from openrevox.domain.scheduling import ForbiddenAction, OrderStatus, UserAction, apply_action
from openrevox.domain.scheduling.states import ORDER_STATUSES, TERMINAL_ATTEMPT_STATUSES
from openrevox.errors import Conflict, InvalidInput, NotFound
from openrevox.schemas.calls import CallCreate, CallSearch, InlineAssistant
from openrevox.services import assistant_rules, assistants, phone_numbers
from openrevox.services.auth import Principal
from openrevox.services.call_snapshots import (
    missing_variables_error,
    plan_first_attempt,
    required_variables,
    status_for,
    stored_snapshot,
)
from openrevox.services.call_wire import CallView, Compat
from openrevox.storage.models import Assistant, Call, FaqItem, new_id, utcnow
from openrevox.storage.repositories import calls as repo
from openrevox.storage.repositories import organizations
from openrevox.storage.repositories.assistants import users as load_users
from openrevox.storage.repositories.calls import CallFilters, NumberHistory, Sort
from openrevox.storage.repositories.campaigns import names as campaign_names

INLINE_ID_PREFIX = "inline-"
INLINE_NAME = "Inline assistant"


async def create(session: AsyncSession, principal: Principal, body: CallCreate) -> CallView:
    """Place a call order: snapshot the assistant, check its variables, plan attempt 1."""
    country = await _country(session, principal)
    to_phone_number = _phone(body.phone_number, country, "phone_number")
    from_phone_number = (
        _phone(body.from_phone_number, country, "from_phone_number")
        if body.from_phone_number
        else None
    )
    await phone_numbers.require_owned(
        session, principal.organization_id, from_phone_number, "from_phone_number"
    )
    now = utcnow()
    call_id = new_id()
    if body.assistant is not None:
        assistant_id = None
        snapshot = await _inline_snapshot(session, principal, body.assistant, call_id, now)
        path = "assistant.call_retry_config"
    else:
        wanted = body.assistant_id or ""
        if is_resource_id(wanted):
            await repo.hold_assistant(session, wanted)
        view = await assistants.get(session, principal, wanted)
        assistant_id = view.assistant.id
        snapshot = stored_snapshot(assistants.to_wire(view), view.assistant.config)
        path = "assistant_id"
    variables = dict(body.prompt_variables or {})
    missing = required_variables(snapshot) - set(variables)
    if missing:
        raise missing_variables_error(missing)
    skip = bool(body.skip_calling_window or body.force_now)
    first = plan_first_attempt(now, snapshot, to_phone_number, body.scheduled_at, skip, path=path)
    call = Call(
        id=call_id,
        organization_id=principal.organization_id,
        assistant_id=assistant_id,
        assistant_snapshot=snapshot,
        prompt_variables=variables,
        metadata_=dict(body.metadata or {}),
        to_phone_number=to_phone_number,
        from_phone_number=from_phone_number,  # None: the assistant's, else the trunk's
        direction="outbound",
        status=status_for(first, now),
        requested_scheduled_at=body.scheduled_at,
        scheduled_at=first,
        next_attempt_at=first,
        concurrency_key=body.concurrency.key if body.concurrency else None,
        skip_calling_window=skip,
        created_by_id=principal.user_id,
        calls_count=0,
        created_at=now,
        updated_at=now,
    )
    repo.add(session, call)
    await session.flush()
    return CallView(call)


async def get(session: AsyncSession, principal: Principal, call_id: str) -> CallView:
    call = await _require(session, principal, call_id)
    return (await _views(session, [call]))[0]


async def view_of(session: AsyncSession, organization_id: str, call_id: str) -> CallView | None:
    """A call and what its wire form needs, for internal work (no principal)."""
    call = await repo.get(session, organization_id, call_id)
    return None if call is None else (await _views(session, [call]))[0]


async def act(
    session: AsyncSession, principal: Principal, call_id: str, action: UserAction
) -> Call:
    """cancel, pause or resume, as the state machine allows; else a 409 naming the state.

    A pause keeps the planned next attempt; resume plans it again from there, inside
    the windows (or goes back to ``calling`` if the attempt live at the pause still is).
    """
    call = await _require(session, principal, call_id, for_update=True)
    attempts = (await repo.attempts_of(session, [call.id]))[call.id]
    live = bool(attempts) and attempts[0].status not in TERMINAL_ATTEMPT_STATUSES
    try:
        status = apply_action(action, cast(OrderStatus, call.status), attempt_in_progress=live)
    except ForbiddenAction as exc:
        raise Conflict(str(exc)) from None
    now = utcnow()
    if action == "cancel":
        call.next_attempt_at = None
    elif action == "resume" and status == "scheduled":
        planned = call.next_attempt_at or call.requested_scheduled_at
        at = plan_first_attempt(
            now,
            call.assistant_snapshot,
            call.to_phone_number,
            planned,
            call.skip_calling_window,
        )
        call.next_attempt_at = at
        status = status_for(at, now)
    call.status = status
    call.status_reason = None
    call.updated_at = _later_than(call.updated_at, now)
    await session.flush()
    return call


async def search(
    session: AsyncSession, principal: Principal, body: CallSearch
) -> tuple[list[CallView], int]:
    """A page of the organization's calls matching every filter, and how many match."""
    filters = await search_filters(session, principal, body)
    sort = search_sort(body)
    calls = await repo.search(
        session, filters, sort, offset=body.page * body.page_size, limit=body.page_size
    )
    total = await repo.count(session, filters)
    return await _views(session, calls), total


async def legacy_list(
    session: AsyncSession,
    principal: Principal,
    *,
    page: int,
    page_size: int,
    statuses: Sequence[str],
    compat: Compat,
) -> list[CallView]:
    """SDK 0.1.1 ``GET /call``: newest first. A status filter matches the calls that
    this SDK is shown in that status (a paused call reads as scheduled there)."""
    wanted = [s for s in ORDER_STATUSES if compat.status(s) in set(statuses)] if statuses else []
    if statuses and not wanted:
        return []
    filters = CallFilters(organization_id=principal.organization_id, statuses=wanted)
    calls = await repo.search(session, filters, Sort(), offset=page * page_size, limit=page_size)
    return await _views(session, calls)


async def phone_history(session: AsyncSession, principal: Principal) -> dict[str, NumberHistory]:
    return await repo.phone_history(session, principal.organization_id)


async def search_filters(
    session: AsyncSession, principal: Principal, body: CallSearch
) -> CallFilters:
    """The search body as repository filters; numbers normalised like at creation."""
    country = await _country(session, principal)
    query = (body.query or "").strip() or None
    return CallFilters(
        organization_id=principal.organization_id,
        statuses=body.statuses,
        assistant_ids=body.assistant_ids,
        assignee_ids=body.assignee_ids,
        campaign_ids=body.campaign_ids,
        directions=body.directions,
        from_phone_numbers=[_loose_phone(n, country) for n in body.from_phone_numbers],
        outcomes=body.outcomes,
        results=body.results,
        call_ids=body.call_ids or (),
        to_phone_number=_loose_phone(body.to_phone_number, country)
        if body.to_phone_number
        else None,
        query=query,
        query_phone=_query_phone(query, country),
    )


def search_sort(body: CallSearch) -> Sort:
    return Sort(body.sort_by or "created_at", (body.sort_direction or "desc") == "desc")


# ---- helpers ----


async def _require(
    session: AsyncSession, principal: Principal, call_id: str, *, for_update: bool = False
) -> Call:
    call = None
    if is_resource_id(call_id):
        call = await repo.get(session, principal.organization_id, call_id, for_update=for_update)
    if call is None:
        raise NotFound(f"no call with id {call_id!r}")
    return call


async def _views(session: AsyncSession, calls: Sequence[Call]) -> list[CallView]:
    attempts = await repo.attempts_of(session, [c.id for c in calls])
    user_ids = {c.assignee_id for c in calls if c.assignee_id}
    user_ids |= {
        a.handled_by_user_id for rows in attempts.values() for a in rows if a.handled_by_user_id
    }
    users = await load_users(session, user_ids)
    names = await campaign_names(session, (c.campaign_id for c in calls if c.campaign_id))
    return [CallView(c, attempts[c.id], users, names) for c in calls]


async def _country(session: AsyncSession, principal: Principal) -> str | None:
    organization = await organizations.get(session, principal.organization_id)
    return organization.country if organization else None


def _phone(text: str, country: str | None, path: str) -> str:
    """E.164 from E.164 or a national number of the organization's country; else 400."""
    try:
        return normalise(text.strip(), country)
    except InvalidPhoneNumber as exc:
        hint = "" if text.strip().startswith("+") or country else " (give it in E.164: +...)"
        raise InvalidInput.at(path, f"{exc}{hint}") from None


def _loose_phone(text: str, country: str | None) -> str:
    """A filter's number in E.164 when it is one; else as given (it then matches nothing)."""
    try:
        return normalise(text.strip(), country)
    except InvalidPhoneNumber:
        return text.strip()


def _query_phone(query: str | None, country: str | None) -> str | None:
    if not query or sum(ch.isdigit() for ch in query) < 6:
        return None
    try:
        return normalise(query, country)
    except InvalidPhoneNumber:
        return None


async def _inline_snapshot(
    session: AsyncSession,
    principal: Principal,
    body: InlineAssistant,
    call_id: str,
    now: datetime,
) -> dict[str, Any]:
    """An inline assistant validated and defaulted exactly like ``POST /assistants``,
    in wire form under the id ``inline-<call id>`` (it has no row of its own)."""
    try:
        changes = assistant_rules.config_changes(body, stored={})
        config = {**copy.deepcopy(DEFAULT_CONFIG), **changes}
        assistant_rules.check_config(config)
        await assistants.check_from_number(session, principal.organization_id, changes, {})
    except InvalidInput as exc:
        raise _under("assistant", exc) from None
    assistant = Assistant(
        id=INLINE_ID_PREFIX + call_id,
        organization_id=principal.organization_id,
        name=body.name or INLINE_NAME,
        type=body.type or "standalone",
        config=config,
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    faq = [
        FaqItem(
            id=new_id(),
            assistant_id=assistant.id,
            position=position,
            question=item.question,
            answer=item.answer,
            needs_human_answer=item.needs_human_answer
            if item.needs_human_answer is not None
            else not item.answer.strip(),
            source=item.source or "human",
        )
        for position, item in enumerate(body.faq_items or [])
    ]
    creator = await organizations.get_user(session, principal.user_id)
    wire = assistants.to_wire(assistants.AssistantView(assistant, faq, creator))
    return stored_snapshot(wire, config)


def _under(prefix: str, exc: InvalidInput) -> InvalidInput:
    """The same error with every field path under ``prefix``."""
    fields = [type(f)(f"{prefix}.{f.path}", f.message) for f in exc.fields]
    message = "; ".join(f"{f.path}: {f.message}" for f in fields) or exc.message
    return InvalidInput(message, fields=fields)


def _later_than(previous: datetime, now: datetime) -> datetime:
    return now if now > previous else previous + timedelta(microseconds=1)
