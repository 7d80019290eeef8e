"""Launching a campaign's calls: the selection, the first attempt of each ``not_launched``
call planned in its recipient's windows, the others counted (docs/campaigns.md)."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.scheduling import (
    InvalidRetryConfig,
    NoCallingTime,
    first_attempt_at,
    recipient_zones,
)
from openrevox.errors import Conflict, InvalidInput
from openrevox.schemas.campaigns import CampaignLaunch
from openrevox.services.auth import Principal
from openrevox.services.call_snapshots import status_for
from openrevox.services.campaign_wire import CampaignView, load_view, require_campaign
from openrevox.storage.models import Campaign, utcnow
from openrevox.storage.repositories import campaigns as repo
from openrevox.storage.repositories.calls import CallFilters

# A launch skips: calls already going (counted ``active``), over ones, cancelled ones.
LAUNCH_ACTIVE: frozenset[str] = frozenset(
    {"initializing", "scheduled", "queued_for_calling", "calling", "post_processing", "paused"}
)


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


async def launch(
    session: AsyncSession, principal: Principal, campaign_id: str, body: CampaignLaunch
) -> LaunchOutcome:
    """Plan the first attempt of the selected ``not_launched`` calls; count the others."""
    campaign = await require_campaign(session, principal, campaign_id, for_update=True)
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
    campaign = await require_campaign(session, principal, campaign_id, for_update=True)
    if campaign.cancelled_at is not None:
        raise Conflict("cannot launch a cancelled campaign")
    if campaign.launched_at is not None:
        raise Conflict("the campaign is already launched; only a draft campaign can be launched")
    await launch_all(session, campaign, campaign.scheduled_at, utcnow())
    return await load_view(session, campaign)


async def launch_all(
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
