"""Campaign use cases: create with contacts, read, update, launch, pause, resume, cancel,
delete, rows (docs/campaigns.md).

A campaign's contacts are calls of ``calls`` (``campaign_id``), each with a row of
``campaign_rows`` keeping the contact as given. Every action on the campaign's calls
runs in the caller's one transaction, with the campaign row locked, as conditional
updates or on locked call rows: it applies to all of them or to none.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.assistant_defaults import DEFAULT_CONFIG
from openrevox.domain.identifiers import is_resource_id
from openrevox.domain.phone_numbers import InvalidPhoneNumber, normalise
from openrevox.domain.scheduling import (
    InvalidRetryConfig,
    NoCallingTime,
    OrderStatus,
    first_attempt_at,
    next_allowed_instant,
    recipient_zones,
)
from openrevox.domain.scheduling.states import ACTION_SOURCES
from openrevox.errors import Conflict, FieldError, InvalidInput, NotFound
from openrevox.schemas.campaigns import CampaignCreate, CampaignLaunch, CampaignUpdate, ContactIn
from openrevox.services import assistants, phone_numbers
from openrevox.services import calls as call_service
from openrevox.services.auth import Principal
from openrevox.services.call_snapshots import required_variables, status_for, stored_snapshot
from openrevox.services.call_wire import CallView, Compat, member, timestamp
from openrevox.storage.models import Assistant, Campaign, CampaignRow, User, new_id, utcnow
from openrevox.storage.repositories import calls as call_repo
from openrevox.storage.repositories import campaigns as repo
from openrevox.storage.repositories import organizations
from openrevox.storage.repositories.assistants import users as load_users
from openrevox.storage.repositories.calls import CallFilters
from openrevox.storage.repositories.campaigns import Tally

# Statuses whose call dials or will dial without anyone's action.
DIALLING: frozenset[str] = frozenset({"initializing", "scheduled", "queued_for_calling", "calling"})
# Statuses that wait for a person: a launch, a resume.
HELD: frozenset[str] = frozenset({"paused", "not_launched"})
# Calls an update of the campaign reaches: every call not over and not past dialling.
UPDATABLE: tuple[OrderStatus, ...] = (
    "initializing",
    "not_launched",
    "scheduled",
    "queued_for_calling",
    "calling",
    "paused",
)
PLANNED: frozenset[str] = frozenset({"scheduled", "queued_for_calling"})
# A launch skips: calls already going (counted ``active``), over ones, cancelled ones.
LAUNCH_ACTIVE: frozenset[str] = frozenset(
    {"initializing", "scheduled", "queued_for_calling", "calling", "post_processing", "paused"}
)
MAX_ERRORS_IN_MESSAGE = 5


@dataclass
class CampaignView:
    campaign: Campaign
    tally: Tally = field(default_factory=Tally)
    creator: User | None = None


@dataclass(frozen=True)
class LaunchOutcome:
    launched: int = 0
    active: int = 0
    attempts_exhausted: int = 0
    cancelled: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "launched": self.launched,
            "skipped": {
                "active": self.active,
                "attempts_exhausted": self.attempts_exhausted,
                "cancelled": self.cancelled,
            },
            "session": None,
        }


# ---- create ----


async def create(
    session: AsyncSession, principal: Principal, body: CampaignCreate, *, launch: bool = False
) -> CampaignView:
    """Validate every contact first (one 400 naming each bad row), then write the
    campaign, one ``not_launched`` call per contact and its row, all at once."""
    if is_resource_id(body.assistant_id):
        await call_repo.hold_assistant(session, body.assistant_id)
    try:
        view = await assistants.get(session, principal, body.assistant_id)
    except NotFound as exc:
        raise NotFound(f"assistant_id: {exc.message}") from None
    snapshot = stored_snapshot(assistants.to_wire(view), view.assistant.config)
    retry_config = (
        body.call_retry_config.model_dump(mode="json") if body.call_retry_config else None
    )
    if retry_config is not None:
        snapshot["call_retry_config"] = retry_config
    country = await _country(session, principal)
    errors: list[FieldError] = []
    from_phone_number = None
    if body.from_phone_number:
        from_phone_number = _phone(body.from_phone_number, country, "from_phone_number", errors)
    try:
        await phone_numbers.require_owned(
            session, principal.organization_id, from_phone_number, "from_phone_number"
        )
    except InvalidInput as exc:
        errors.extend(exc.fields)
    # Pure work proportional to the rows (numbers, variables): off the event loop.
    numbers, row_errors = await asyncio.to_thread(
        _check_contacts, body.contacts, country, required_variables(snapshot)
    )
    errors += row_errors
    if errors:
        raise _invalid(errors, len(body.contacts))
    now = utcnow()
    _check_calling_time(now, snapshot, numbers[0], "call_retry_config")
    campaign = Campaign(
        id=new_id(),
        organization_id=principal.organization_id,
        assistant_id=view.assistant.id,
        name=body.name,
        call_retry_config=retry_config,
        from_phone_number=from_phone_number,
        max_concurrent_calls=body.max_concurrent_calls,
        scheduled_at=body.scheduled_at,
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    calls: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for index, (contact, number) in enumerate(zip(body.contacts, numbers, strict=True)):
        call_id = new_id()
        variables = contact.variables()
        calls.append(
            {
                "id": call_id,
                "organization_id": principal.organization_id,
                "assistant_id": view.assistant.id,
                "assistant_snapshot": snapshot,
                "prompt_variables": variables,
                "metadata_": {},
                "to_phone_number": number,
                "from_phone_number": from_phone_number,
                "direction": "outbound",
                "status": "not_launched",
                "scheduled_at": now,
                "next_attempt_at": None,
                "skip_calling_window": False,
                "campaign_id": campaign.id,
                "created_by_id": principal.user_id,
                "calls_count": 0,
                "do_not_contact": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        rows.append(
            {
                "id": new_id(),
                "campaign_id": campaign.id,
                "row_index": index,
                "phone_number": number,
                "input_data": variables,
                "call_id": call_id,
            }
        )
    await repo.add(session, campaign, calls, rows)
    if launch:  # SDK 0.1.1-0.3.0: launch at once
        await _launch_all(session, campaign, body.scheduled_at, now)
    return await _view(session, campaign)


def _check_contacts(
    contacts: Sequence[ContactIn], country: str | None, needed: set[str]
) -> tuple[list[str], list[FieldError]]:
    """Each contact's number in E.164 (``""`` when invalid) and every problem of every
    row: an invalid number, a number given twice, a missing variable."""
    errors: list[FieldError] = []
    numbers: list[str] = []
    first_row: dict[str, int] = {}
    for index, contact in enumerate(contacts):
        path = f"contacts[{index}]"
        number = _phone(contact.to_phone_number, country, f"{path}.to_phone_number", errors)
        numbers.append(number or "")
        if number:
            if number in first_row:
                errors.append(
                    FieldError(
                        f"{path}.to_phone_number",
                        f"{number} is already contacts[{first_row[number]}]; "
                        "each number is called once per campaign",
                    )
                )
            else:
                first_row[number] = index
        for name in sorted(needed - set(contact.prompt_variables)):
            errors.append(
                FieldError(
                    f"{path}.prompt_variables.{name}",
                    f"is required: the assistant uses {{{{{name}}}}}",
                )
            )
    return numbers, errors


# ---- read ----


async def get(session: AsyncSession, principal: Principal, campaign_id: str) -> CampaignView:
    return await _view(session, await _require(session, principal, campaign_id))


async def listing(session: AsyncSession, principal: Principal) -> list[CampaignView]:
    campaigns = await repo.listing(session, principal.organization_id)
    return await _views(session, campaigns)


@dataclass(frozen=True)
class RowView:
    row: CampaignRow
    call: CallView


async def rows(
    session: AsyncSession,
    principal: Principal,
    campaign_id: str,
    *,
    page: int,
    page_size: int,
    statuses: Sequence[str] = (),
    outcomes: Sequence[str] = (),
    results: Sequence[str] = (),
    query: str | None = None,
) -> tuple[list[RowView], int]:
    """A page of the campaign's rows in row order, each with its call; and how many match."""
    campaign = await _require(session, principal, campaign_id)
    filters = CallFilters(
        organization_id=principal.organization_id,
        campaign_ids=[campaign.id],
        statuses=statuses,
        outcomes=outcomes,
        results=results,
        query=(query or "").strip() or None,
    )
    pairs = await repo.rows_page(
        session, campaign.id, filters, offset=page * page_size, limit=page_size
    )
    total = await repo.rows_count(session, campaign.id, filters)
    views = await call_service._views(session, [call for _, call in pairs])
    return [RowView(row, view) for (row, _), view in zip(pairs, views, strict=True)], total


# ---- update ----


async def update(
    session: AsyncSession, principal: Principal, campaign_id: str, body: CampaignUpdate
) -> CampaignView:
    """Name, number, limit and retry configuration; the number and the retry
    configuration reach every call not over yet (planned ones are planned again)."""
    campaign = await _require(session, principal, campaign_id, for_update=True)
    given = body.model_fields_set
    now = utcnow()
    if "name" in given and body.name is not None:
        campaign.name = body.name
    if "max_concurrent_calls" in given:
        campaign.max_concurrent_calls = body.max_concurrent_calls
    if "from_phone_number" in given:
        number = None
        if body.from_phone_number:
            errors: list[FieldError] = []
            number = _phone(
                body.from_phone_number,
                await _country(session, principal),
                "from_phone_number",
                errors,
            )
            if errors:
                raise _invalid(errors, 0)
            await phone_numbers.require_owned(
                session, principal.organization_id, number, "from_phone_number"
            )
        campaign.from_phone_number = number
        await repo.update_calls(
            session, campaign.id, UPDATABLE, {"from_phone_number": number, "updated_at": now}
        )
    if "call_retry_config" in given:
        config = body.call_retry_config.model_dump(mode="json") if body.call_retry_config else None
        campaign.call_retry_config = config
        if config is None:
            config = await _assistant_retry_config(session, campaign.assistant_id)
        await _apply_retry_config(session, campaign.id, config, now)
    campaign.updated_at = now
    await session.flush()
    return await _view(session, campaign)


async def _assistant_retry_config(session: AsyncSession, assistant_id: str) -> Any:
    assistant = await session.get(Assistant, assistant_id)
    stored = assistant.config if assistant is not None else {}
    return copy.deepcopy({**DEFAULT_CONFIG, **stored}.get("call_retry_config"))


async def _apply_retry_config(
    session: AsyncSession, campaign_id: str, config: Any, now: datetime
) -> None:
    """The calls not over take ``config`` in their snapshot (one statement); the planned
    ones are planned again under it (one statement per new instant)."""
    await repo.set_retry_config(session, campaign_id, UPDATABLE, config, now)
    planned = await repo.calls_in(session, campaign_id, sorted(PLANNED))
    for (status, at, first), ids in (
        await asyncio.to_thread(_replan_all, planned, config, now)
    ).items():
        values: dict[str, Any] = {"status": status, "next_attempt_at": at}
        if first:  # not dialled yet: its planned start moves too
            values["scheduled_at"] = at
        await repo.set_planned_from(session, ids, PLANNED, values)


def _replan_all(
    calls: Sequence[repo.PlanRow], config: Any, now: datetime
) -> dict[tuple[str, datetime, bool], list[str]]:
    """Pure: planned calls by (status, next attempt, not dialled yet) under ``config``:
    from the time asked when not dialled yet, else the planned retry moved into the
    windows. A paused call is planned on resume, a calling one when its attempt ends."""
    result: dict[tuple[str, datetime, bool], list[str]] = {}
    for call in calls:
        try:
            zones = recipient_zones(call.to_phone_number, config)
            if call.calls_count == 0:
                at = first_attempt_at(
                    now,
                    config,
                    zones,
                    scheduled_at=call.requested_scheduled_at,
                    skip_calling_window=call.skip_calling_window,
                )
            else:
                at = next_allowed_instant(
                    max(now, call.next_attempt_at or now),
                    config,
                    zones,
                    skip_calling_window=call.skip_calling_window,
                )
        except (NoCallingTime, InvalidRetryConfig) as exc:
            raise InvalidInput.at("call_retry_config", str(exc)) from None
        key = (status_for(at, now), at, call.calls_count == 0)
        result.setdefault(key, []).append(call.id)
    return result


# ---- launch ----


async def launch(
    session: AsyncSession, principal: Principal, campaign_id: str, body: CampaignLaunch
) -> LaunchOutcome:
    """Plan the first attempt of the selected ``not_launched`` calls; count the others."""
    campaign = await _require(session, principal, campaign_id, for_update=True)
    if body.mode == "speed_dial":
        raise InvalidInput.at(
            "mode", "speed_dial is not available on this server yet; launch with ai_first"
        )
    if campaign.cancelled_at is not None:
        raise Conflict("cannot launch calls of a cancelled campaign")
    rows_sel, filters_sel = body.selection.rows, body.selection.filters
    if rows_sel.mode == "only" and not rows_sel.call_ids:
        return LaunchOutcome()
    filters = CallFilters(
        organization_id=principal.organization_id,
        campaign_ids=[campaign.id],
        statuses=filters_sel.statuses,
        outcomes=filters_sel.outcomes,
        results=filters_sel.results,
        directions=filters_sel.directions,
        assignee_ids=filters_sel.assignee_ids,
        call_ids=rows_sel.call_ids if rows_sel.mode == "only" else (),
        query=(filters_sel.query or "").strip() or None,
    )
    excluded = rows_sel.call_ids if rows_sel.mode == "all_except" else ()
    selected = await repo.selected_calls(session, filters, excluded)
    now = utcnow()
    outcome = await _launch(session, selected, body.scheduled_at, now)
    _mark_launched(campaign, body.scheduled_at, now, launched=outcome.launched > 0)
    await session.flush()
    return outcome


async def legacy_launch(
    session: AsyncSession, principal: Principal, campaign_id: str
) -> CampaignView:
    """SDK 0.3.0 ``POST /campaigns/{id}/launch``: launch a draft (never launched) campaign,
    every call, at the ``scheduled_at`` given on create (or now)."""
    campaign = await _require(session, principal, campaign_id, for_update=True)
    if campaign.cancelled_at is not None:
        raise Conflict("cannot launch a cancelled campaign")
    if campaign.launched_at is not None:
        raise Conflict("the campaign is already launched; only a draft campaign can be launched")
    await _launch_all(session, campaign, campaign.scheduled_at, utcnow())
    return await _view(session, campaign)


async def _launch_all(
    session: AsyncSession, campaign: Campaign, scheduled_at: datetime | None, now: datetime
) -> None:
    filters = CallFilters(organization_id=campaign.organization_id, campaign_ids=[campaign.id])
    selected = await repo.selected_calls(session, filters, ())
    await _launch(session, selected, scheduled_at, now)
    _mark_launched(campaign, scheduled_at, now, launched=True)
    await session.flush()


async def _launch(
    session: AsyncSession,
    calls: Sequence[repo.PlanRow],
    scheduled_at: datetime | None,
    now: datetime,
) -> LaunchOutcome:
    """Plan the ``not_launched`` calls (one update per planned instant); count the rest."""
    planned, active, exhausted, cancelled = await asyncio.to_thread(
        _plan_launch, calls, scheduled_at, now
    )
    for at, ids in planned.items():
        await repo.set_planned(
            session,
            ids,
            "not_launched",
            {
                "status": status_for(at, now),
                "next_attempt_at": at,
                "scheduled_at": at,
                "requested_scheduled_at": scheduled_at,
                "status_reason": None,
                "updated_at": now,
            },
        )
    launched = sum(len(ids) for ids in planned.values())
    return LaunchOutcome(launched, active, exhausted, cancelled)


def _plan_launch(
    calls: Sequence[repo.PlanRow], scheduled_at: datetime | None, now: datetime
) -> tuple[dict[datetime, list[str]], int, int, int]:
    """Pure: the not-launched calls by planned instant, and the skipped ones counted
    (active, attempts exhausted, cancelled)."""
    active = exhausted = cancelled = 0
    plans: dict[tuple[str, str], datetime] = {}
    planned: dict[datetime, list[str]] = {}
    for call in calls:
        if call.status == "not_launched":
            at = _first_attempt(now, call.retry_config, call.to_phone_number, scheduled_at, plans)
            planned.setdefault(at, []).append(call.id)
        elif call.status == "cancelled":
            cancelled += 1
        elif call.status in LAUNCH_ACTIVE:
            active += 1
        else:  # completed, errored: the order is over, its attempts spent
            exhausted += 1
    return planned, active, exhausted, cancelled


def _first_attempt(
    now: datetime,
    config: Any,
    number: str,
    scheduled_at: datetime | None,
    plans: dict[tuple[str, str], datetime],
) -> datetime:
    """``first_attempt_at`` in the recipient's zones; the same zones and configuration
    give the same instant, so a big launch computes it once per zone set."""
    try:
        zones = recipient_zones(number, config)
        key = (repr(config), repr(zones))
        if key not in plans:
            plans[key] = first_attempt_at(now, config, zones, scheduled_at=scheduled_at)
        return plans[key]
    except (NoCallingTime, InvalidRetryConfig) as exc:
        raise InvalidInput.at("call_retry_config", str(exc)) from None


def _mark_launched(
    campaign: Campaign, scheduled_at: datetime | None, now: datetime, *, launched: bool
) -> None:
    if launched and campaign.launched_at is None:
        campaign.launched_at = now
    if scheduled_at is not None:
        campaign.scheduled_at = scheduled_at
    campaign.updated_at = now


# ---- pause, resume, cancel, delete ----


async def pause(session: AsyncSession, principal: Principal, campaign_id: str) -> None:
    """Every call that is planned, waiting or live becomes ``paused`` (a live attempt
    finishes; its retry is kept for the resume), in one conditional update."""
    campaign = await _require(session, principal, campaign_id, for_update=True)
    if campaign.cancelled_at is not None:
        raise Conflict("cannot pause a campaign that is cancelled")
    now = utcnow()
    changed = await repo.set_status_where(
        session,
        campaign.id,
        ACTION_SOURCES["pause"],
        {"status": "paused", "status_reason": "campaign paused", "updated_at": now},
    )
    if not changed:
        status = await _status_word(session, campaign)
        raise Conflict(
            f"cannot pause a campaign that is {status}: none of its calls is scheduled, "
            "queued or calling"
        )
    campaign.updated_at = now
    await session.flush()


async def resume(session: AsyncSession, principal: Principal, campaign_id: str) -> None:
    """Every paused call is planned again from its kept time (or as soon as the windows
    allow); ``calling`` when the attempt live at the pause still is."""
    campaign = await _require(session, principal, campaign_id, for_update=True)
    if campaign.cancelled_at is not None:
        raise Conflict("cannot resume a campaign that is cancelled")
    paused = await repo.calls_in(session, campaign.id, ACTION_SOURCES["resume"])
    if not paused:
        status = await _status_word(session, campaign)
        raise Conflict(f"cannot resume a campaign that is {status}: none of its calls is paused")
    now = utcnow()
    resumed = await asyncio.to_thread(_plan_resume, paused, now)
    for (status, next_at), ids in resumed.items():
        values: dict[str, Any] = {"status": status, "status_reason": None, "updated_at": now}
        if next_at is not None:
            values["next_attempt_at"] = next_at
        await repo.set_planned(session, ids, "paused", values)
    campaign.updated_at = now
    await session.flush()


def _plan_resume(
    paused: Sequence[repo.PlanRow], now: datetime
) -> dict[tuple[str, datetime | None], list[str]]:
    """Pure: paused calls by (new status, next attempt) — ``calling`` (no new time) when
    the attempt live at the pause still is."""
    resumed: dict[tuple[str, datetime | None], list[str]] = {}
    for call in paused:
        if call.claimed_by is not None:
            resumed.setdefault(("calling", None), []).append(call.id)
            continue
        planned = call.next_attempt_at or call.requested_scheduled_at
        try:
            zones = recipient_zones(call.to_phone_number, call.retry_config)
            at = first_attempt_at(
                now,
                call.retry_config,
                zones,
                scheduled_at=planned,
                skip_calling_window=call.skip_calling_window,
            )
        except (NoCallingTime, InvalidRetryConfig) as exc:
            raise InvalidInput.at("call_retry_config", str(exc)) from None
        resumed.setdefault((status_for(at, now), at), []).append(call.id)
    return resumed


async def cancel(session: AsyncSession, principal: Principal, campaign_id: str) -> None:
    """Pending and queued calls are ``cancelled`` in one conditional update; a call with
    a live attempt finishes it, then is not retried (the dispatcher reads the campaign's
    ``cancelled_at``). The campaign and its rows are kept."""
    campaign = await _require(session, principal, campaign_id, for_update=True)
    if campaign.cancelled_at is not None:
        raise Conflict("the campaign is already cancelled")
    now = utcnow()
    changed = await _cancel_calls(session, campaign.id, "campaign cancelled", now)
    if not changed and await _status_word(session, campaign) == "completed":
        raise Conflict("cannot cancel a campaign that is completed: every call is over")
    campaign.cancelled_at = now
    campaign.updated_at = now
    await session.flush()


async def delete(session: AsyncSession, principal: Principal, campaign_id: str) -> None:
    """Archive the campaign: it is gone from the API, no new call is placed (its calls
    that are not live are cancelled, live ones finish and are not retried). Its calls and
    rows are kept: GET /call still shows them with their campaign."""
    campaign = await _require(session, principal, campaign_id, for_update=True)
    now = utcnow()
    await _cancel_calls(session, campaign.id, "campaign deleted", now)
    if campaign.cancelled_at is None:
        campaign.cancelled_at = now
    repo.archive(campaign, now)
    await session.flush()


async def _cancel_calls(session: AsyncSession, campaign_id: str, reason: str, now: datetime) -> int:
    return await repo.set_status_where(
        session,
        campaign_id,
        ACTION_SOURCES["cancel"],
        {
            "status": "cancelled",
            "status_reason": reason,
            "next_attempt_at": None,
            "updated_at": now,
        },
        not_live=True,
    )


# ---- wire form ----


def campaign_status(tally: Tally) -> str:
    """running: a call dials or will (initializing, scheduled, queued_for_calling,
    calling); else paused: a call waits for a person (paused, not_launched); else
    running while after-call work goes on (post_processing); else completed (every call
    completed, cancelled or errored, or no call)."""
    present = {status for status, n in tally.by_status.items() if n}
    if present & DIALLING:
        return "running"
    if present & HELD:
        return "paused"
    if "post_processing" in present:
        return "running"
    return "completed"


def row_stats(tally: Tally) -> dict[str, int]:
    """Every call counted once: not_launched; pending (waiting for its first attempt)
    and retry (waiting for another: scheduled, queued, paused or initializing);
    calling (calling, post_processing); completed; failed (errored); skipped
    (cancelled)."""
    waiting = ("initializing", "scheduled", "queued_for_calling", "paused")
    by = tally.by_status
    retry = sum(tally.retried.get(s, 0) for s in waiting)
    return {
        "total": tally.total,
        "not_launched": by.get("not_launched", 0),
        "pending": sum(by.get(s, 0) for s in waiting) - retry,
        "retry": retry,
        "calling": by.get("calling", 0) + by.get("post_processing", 0),
        "completed": by.get("completed", 0),
        "failed": by.get("errored", 0),
        "skipped": by.get("cancelled", 0),
    }


def to_wire(view: CampaignView, compat: Compat | None = None) -> dict[str, Any]:
    c = view.campaign
    status = campaign_status(view.tally)
    legacy = compat is not None and compat.version is not None and compat.version < (0, 4, 0)
    if legacy and c.launched_at is None and c.cancelled_at is None:
        status = "draft"  # SDKs before 0.4.0: a campaign not launched yet
    return {
        "id": c.id,
        "organization_id": c.organization_id,
        "assistant_id": c.assistant_id,
        "name": c.name,
        "status": status,
        "is_cancelled": c.cancelled_at is not None,
        "type": "regular",
        "assistant": None,
        "call_retry_config": c.call_retry_config,
        "from_phone_number": c.from_phone_number,
        "max_concurrent_calls": c.max_concurrent_calls,
        "created_by": member(view.creator),
        "row_stats": row_stats(view.tally),
        "funnel_stats": {
            "total_leads": view.tally.total,
            "talked_to_human": view.tally.human,
            "hot": view.tally.hot,
        },
        "paused_reason": "manual" if status == "paused" and c.launched_at else None,
        "scheduled_at": timestamp(c.scheduled_at),
        "created_at": timestamp(c.created_at),
        "updated_at": timestamp(c.updated_at),
    }


def row_wire(view: RowView, compat: Compat) -> dict[str, Any]:
    from openrevox.services.call_wire import to_wire as call_to_wire

    r = view.row
    return {
        "id": r.id,
        "row_index": r.row_index,
        "phone_number": r.phone_number,
        "input_data": r.input_data,
        "call": call_to_wire(view.call, compat),
    }


# ---- helpers ----


async def _require(
    session: AsyncSession, principal: Principal, campaign_id: str, *, for_update: bool = False
) -> Campaign:
    campaign = None
    if is_resource_id(campaign_id):
        campaign = await repo.get(
            session, principal.organization_id, campaign_id, for_update=for_update
        )
    if campaign is None:
        raise NotFound(f"no campaign with id {campaign_id!r}")
    return campaign


async def _view(session: AsyncSession, campaign: Campaign) -> CampaignView:
    return (await _views(session, [campaign]))[0]


async def _views(session: AsyncSession, campaigns: Sequence[Campaign]) -> list[CampaignView]:
    tallies = await repo.tallies(session, [c.id for c in campaigns])
    users = await load_users(session, {c.created_by_id for c in campaigns if c.created_by_id})
    return [CampaignView(c, tallies[c.id], users.get(c.created_by_id or "")) for c in campaigns]


async def _status_word(session: AsyncSession, campaign: Campaign) -> str:
    if campaign.cancelled_at is not None:
        return "cancelled"
    tally = (await repo.tallies(session, [campaign.id]))[campaign.id]
    if tally.by_status and set(tally.by_status) <= {"not_launched"}:
        return "not launched"
    return campaign_status(tally)


async def _country(session: AsyncSession, principal: Principal) -> str | None:
    organization = await organizations.get(session, principal.organization_id)
    return organization.country if organization else None


def _phone(text: str, country: str | None, path: str, errors: list[FieldError]) -> str | None:
    """E.164, or None with the error recorded under ``path``."""
    try:
        return normalise(text.strip(), country)
    except InvalidPhoneNumber as exc:
        hint = "" if text.strip().startswith("+") or country else " (give it in E.164: +...)"
        errors.append(FieldError(path, f"{exc}{hint}"))
        return None


def _invalid(errors: Sequence[FieldError], contacts: int) -> InvalidInput:
    rows = sorted(
        {
            int(f.path.split("]")[0][len("contacts[") :])
            for f in errors
            if f.path.startswith("contacts[")
        }
    )
    shown = "; ".join(f"{f.path}: {f.message}" for f in errors[:MAX_ERRORS_IN_MESSAGE])
    more = len(errors) - MAX_ERRORS_IN_MESSAGE
    if more > 0:
        shown += f"; and {more} more (see fields)"
    if rows:
        head = (
            f"{len(rows)} of {contacts} contacts are invalid (rows {_ranges(rows)}); "
            "nothing was created: "
        )
    else:
        head = ""
    return InvalidInput(head + shown, fields=list(errors))


def _ranges(indexes: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in indexes[:20])
    return shown + (", ..." if len(indexes) > 20 else "")


def _check_calling_time(now: datetime, snapshot: Mapping[str, Any], number: str, path: str) -> None:
    config = snapshot.get("call_retry_config")
    try:
        first_attempt_at(now, config, recipient_zones(number, config))
    except (NoCallingTime, InvalidRetryConfig) as exc:
        raise InvalidInput.at(path, str(exc)) from None
