"""Campaigns in wire form, and loading them: a campaign with its calls' tally and its
creator, its status word, its rows (docs/campaigns.md)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.identifiers import is_resource_id
from openrevox.errors import NotFound
from openrevox.services.auth import Principal
from openrevox.services.call_wire import CallView, Compat
from openrevox.services.wire_values import member, timestamp
from openrevox.storage.models import Campaign, CampaignRow, User
from openrevox.storage.repositories import campaigns as repo
from openrevox.storage.repositories.assistants import users as load_users
from openrevox.storage.repositories.campaigns import Tally

# Statuses whose call dials or will dial without anyone's action.
DIALLING: frozenset[str] = frozenset({"initializing", "scheduled", "queued_for_calling", "calling"})
# Statuses that wait for a person: a launch, a resume.
HELD: frozenset[str] = frozenset({"paused", "not_launched"})


@dataclass
class CampaignView:
    campaign: Campaign
    tally: Tally = field(default_factory=Tally)
    creator: User | None = None


@dataclass(frozen=True)
class RowView:
    row: CampaignRow
    call: CallView


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


# ---- loading ----


async def require_campaign(
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


async def load_view(session: AsyncSession, campaign: Campaign) -> CampaignView:
    return (await load_views(session, [campaign]))[0]


async def load_views(session: AsyncSession, campaigns: Sequence[Campaign]) -> list[CampaignView]:
    tallies = await repo.tallies(session, [c.id for c in campaigns])
    users = await load_users(session, {c.created_by_id for c in campaigns if c.created_by_id})
    return [CampaignView(c, tallies[c.id], users.get(c.created_by_id or "")) for c in campaigns]


async def status_word(session: AsyncSession, campaign: Campaign) -> str:
    if campaign.cancelled_at is not None:
        return "cancelled"
    tally = (await repo.tallies(session, [campaign.id]))[campaign.id]
    if tally.by_status and set(tally.by_status) <= {"not_launched"}:
        return "not launched"
    return campaign_status(tally)
