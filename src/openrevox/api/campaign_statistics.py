"""``GET /campaigns/{id}/statistics``: SDK ``client.campaigns.statistics(id)`` (0.3.0+).

The models document the answer in OpenAPI (the SDK 0.5.0 ``Statistics``, plus SDK
0.3.0's ``leads.hot`` / ``leads.warm``); like every route, the answer is built as plain
data and not re-validated (docs/architecture.md). Figures: docs/campaigns.md#statistics.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from openrevox.api.calls import SdkCompat
from openrevox.api.deps import Caller, Db
from openrevox.api.responses import WireJSON
from openrevox.schemas.common import WireModel
from openrevox.services import campaign_statistics as service

router = APIRouter(tags=["campaigns"])


class StatisticsCampaign(WireModel):
    id: str
    name: str
    agent_name: str | None
    status: Literal["draft", "running", "paused", "completed"]
    is_cancelled: bool
    timezone: str
    max_attempts_per_contact: int | None
    has_activity: bool
    first_activity_at: str | None
    last_activity_at: str | None


class Effort(WireModel):
    calls_total: int
    outbound_attempts: int
    inbound_calls: int


class Called(WireModel):
    count: int
    imported_rows: int


class Reached(WireModel):
    count: int
    outbound: int
    inbound: int
    overlap: int
    pct_of_called: float | None


class OfReached(WireModel):
    count: int
    pct_of_reached: float | None


class Funnel(WireModel):
    called: Called
    reached: Reached
    real_exchanges: OfReached
    hot_leads: OfReached


class OutcomeCount(WireModel):
    outcome: str
    label: str
    count: int


class Lead(WireModel):
    call_id: str
    attempt_id: str | None
    direction: Literal["inbound", "outbound"]
    phone: str
    name: str
    email: str | None
    summary: str | None
    outcome: str
    last_activity_at: str | None


class Leads(WireModel):
    interested: list[Lead]
    callback_requested: list[Lead]
    hot: list[Lead] | None = None
    warm: list[Lead] | None = None


class Inbound(WireModel):
    unique_callers: int


class JumpIn(WireModel):
    joined_calls: int
    median_conversation_seconds: float | None
    median_time_to_join_seconds: float | None


class DataExtraction(WireModel):
    fields: list[str]
    intro: str


class Statistics(WireModel):
    campaign: StatisticsCampaign
    effort: Effort
    funnel: Funnel
    hot_lead_outcomes: list[str]
    outcome_breakdown: list[OutcomeCount]
    leads: Leads
    inbound: Inbound
    jump_in: JumpIn
    data_extraction: DataExtraction | None


class StatisticsEnvelope(WireModel):
    statistics: Statistics


@router.get(
    "/campaigns/{campaign_id}/statistics",
    response_model=StatisticsEnvelope,
    response_class=WireJSON,
)
async def campaign_statistics(
    campaign_id: str, caller: Caller, db: Db, compat: SdkCompat
) -> WireJSON:
    """The funnel, effort, outcome breakdown, leads, inbound, jump-in and data-extraction
    figures of a campaign, counted over distinct numbers (docs/campaigns.md#statistics)."""
    async with db.read() as session:
        statistics = await service.statistics(session, caller, campaign_id, compat)
    return WireJSON({"statistics": statistics})
