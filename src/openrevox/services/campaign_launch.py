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
from openrevox.domain.scheduling.timezones import UTC_ZONE
from openrevox.domain.scheduling.windows import allows_any_time
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
    now = utcnow()
    outcome = await _launch(session, filters, excluded, body.scheduled_at, now)
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
    await _launch(session, filters, (), scheduled_at, now)
    _mark_launched(campaign, scheduled_at, now, launched=True)
    await session.flush()


async def _launch(
    session: AsyncSession,
    filters: CallFilters,
    excluded: Sequence[str],
    scheduled_at: datetime | None,
    now: datetime,
) -> LaunchOutcome:
    """Plan the selected ``not_launched`` calls, grouped by planned instant: the biggest
    group in one statement over the selection, the others by id; count the rest.

    The campaign row is locked by the caller, and every update is conditional on the call
    still being ``not_launched``: a call cancelled meanwhile is not launched, nor counted."""
    counts = await repo.selected_statuses(session, filters, excluded)
    launched = 0
    if counts.get("not_launched"):
        configs = await repo.unlaunched_retry_configs(session, filters, excluded)
        if len(configs) == 1 and _any_time(configs[0]):
            groups: dict[datetime, list[str]] = {
                _first_attempt(now, configs[0], "", scheduled_at, {}): []
            }
        else:
            calls = await repo.unlaunched(session, filters, excluded, configs=len(configs) > 1)
            shared = configs[0] if len(configs) == 1 else None
            groups = await asyncio.to_thread(_plan_groups, calls, shared, scheduled_at, now)
        biggest = max(groups, key=lambda at: len(groups[at]))
        for at, ids in groups.items():
            if at != biggest:
                values = _planned(at, scheduled_at, now)
                launched += await repo.set_planned(session, ids, "not_launched", values)
        values = _planned(biggest, scheduled_at, now)
        launched += await repo.set_unlaunched(session, filters, excluded, values)
    active = sum(n for status, n in counts.items() if status in LAUNCH_ACTIVE)
    cancelled = counts.get("cancelled", 0)
    exhausted = sum(counts.values()) - counts.get("not_launched", 0) - active - cancelled
    return LaunchOutcome(launched, active, exhausted, cancelled)


def _any_time(config: Any) -> bool:
    try:
        return allows_any_time(config)
    except InvalidRetryConfig:  # said, with its reason, when the calls are planned
        return False


def _planned(at: datetime, scheduled_at: datetime | None, now: datetime) -> dict[str, Any]:
    return {
        "status": status_for(at, now),
        "next_attempt_at": at,
        "scheduled_at": at,
        "requested_scheduled_at": scheduled_at,
        "status_reason": None,
        "updated_at": now,
    }


def _plan_groups(
    calls: Sequence[tuple[str, str, Any]],
    shared: Any,
    scheduled_at: datetime | None,
    now: datetime,
) -> dict[datetime, list[str]]:
    """Pure: the calls ``(id, number, config)`` by planned instant; ``shared`` is every
    call's config when they have one (then each row's is not read)."""
    plans: dict[tuple[str, str], datetime] = {}
    groups: dict[datetime, list[str]] = {}
    for call_id, number, config in calls:
        chosen = shared if config is None else config
        at = _first_attempt(now, chosen, number, scheduled_at, plans)
        groups.setdefault(at, []).append(call_id)
    return groups


def _first_attempt(
    now: datetime,
    config: Any,
    number: str,
    scheduled_at: datetime | None,
    plans: dict[tuple[str, str], datetime],
) -> datetime:
    """``first_attempt_at`` in the recipient's zones (none needed when any time is
    allowed); the same zones and configuration give the same instant, so a big launch
    computes it once per zone set."""
    try:
        zones = (UTC_ZONE,) if allows_any_time(config) else recipient_zones(number, config)
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
