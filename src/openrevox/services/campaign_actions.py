"""Actions on a launched campaign's calls: update (number, limit, retry configuration),
pause, resume, cancel, delete; each in the caller's transaction with the campaign row
locked, on all its calls or none (docs/campaigns.md)."""

import asyncio
import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.assistant_defaults import DEFAULT_CONFIG
from openrevox.domain.scheduling import (
    InvalidRetryConfig,
    NoCallingTime,
    OrderStatus,
    first_attempt_at,
    next_allowed_instant,
    recipient_zones,
)
from openrevox.domain.scheduling.states import ACTION_SOURCES
from openrevox.errors import Conflict, FieldError, InvalidInput
from openrevox.schemas.campaigns import CampaignUpdate
from openrevox.services import phone_numbers
from openrevox.services.auth import Principal
from openrevox.services.call_snapshots import status_for
from openrevox.services.campaign_contacts import invalid_contacts, organization_country, parse_phone
from openrevox.services.campaign_wire import CampaignView, load_view, require_campaign, status_word
from openrevox.storage.models import Assistant, utcnow
from openrevox.storage.repositories import campaigns as repo

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


async def update(
    session: AsyncSession, principal: Principal, campaign_id: str, body: CampaignUpdate
) -> CampaignView:
    """Name, number, limit and retry configuration; the number and the retry
    configuration reach every call not over yet (planned ones are planned again)."""
    campaign = await require_campaign(session, principal, campaign_id, for_update=True)
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
            number = parse_phone(
                body.from_phone_number,
                await organization_country(session, principal),
                "from_phone_number",
                errors,
            )
            if errors:
                raise invalid_contacts(errors, 0)
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
    return await load_view(session, campaign)


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


# ---- pause, resume, cancel, delete ----


async def pause(session: AsyncSession, principal: Principal, campaign_id: str) -> None:
    """Every call that is planned, waiting or live becomes ``paused`` (a live attempt
    finishes; its retry is kept for the resume), in one conditional update."""
    campaign = await require_campaign(session, principal, campaign_id, for_update=True)
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
        status = await status_word(session, campaign)
        raise Conflict(
            f"cannot pause a campaign that is {status}: none of its calls is scheduled, "
            "queued or calling"
        )
    campaign.updated_at = now
    await session.flush()


async def resume(session: AsyncSession, principal: Principal, campaign_id: str) -> None:
    """Every paused call is planned again from its kept time (or as soon as the windows
    allow); ``calling`` when the attempt live at the pause still is."""
    campaign = await require_campaign(session, principal, campaign_id, for_update=True)
    if campaign.cancelled_at is not None:
        raise Conflict("cannot resume a campaign that is cancelled")
    paused = await repo.calls_in(session, campaign.id, ACTION_SOURCES["resume"])
    if not paused:
        status = await status_word(session, campaign)
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
    campaign = await require_campaign(session, principal, campaign_id, for_update=True)
    if campaign.cancelled_at is not None:
        raise Conflict("the campaign is already cancelled")
    now = utcnow()
    changed = await _cancel_calls(session, campaign.id, "campaign cancelled", now)
    if not changed and await status_word(session, campaign) == "completed":
        raise Conflict("cannot cancel a campaign that is completed: every call is over")
    campaign.cancelled_at = now
    campaign.updated_at = now
    await session.flush()


async def delete(session: AsyncSession, principal: Principal, campaign_id: str) -> None:
    """Archive the campaign: it is gone from the API, no new call is placed (its calls
    that are not live are cancelled, live ones finish and are not retried). Its calls and
    rows are kept: GET /call still shows them with their campaign."""
    campaign = await require_campaign(session, principal, campaign_id, for_update=True)
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
