"""A campaign's "Statistiques" report (SDK ``client.campaigns.statistics``).

The figures are counted in SQL (``storage/repositories/campaign_statistics.py``); this
module shapes them into the SDK's ``Statistics``. Every definition is in
docs/campaigns.md#statistics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.identifiers import is_resource_id
from openrevox.domain.phone_numbers import InvalidPhoneNumber
from openrevox.domain.scheduling.policy import read_retry_config
from openrevox.domain.scheduling.timezones import zone_names_for_number
from openrevox.errors import NotFound
from openrevox.services import campaigns
from openrevox.services.auth import Principal
from openrevox.services.call_wire import Compat
from openrevox.services.wire_values import timestamp
from openrevox.storage.models import Assistant
from openrevox.storage.repositories import campaign_statistics as repo
from openrevox.storage.repositories import campaigns as campaign_repo
from openrevox.storage.repositories.campaigns import Tally
from openrevox.storage.side_reads import side_session

# A hot lead: the number's verdict is one of these (the phone history's ``hot`` too).
HOT_LEAD_OUTCOMES: tuple[str, ...] = ("interested",)
CALLBACK_OUTCOMES: tuple[str, ...] = ("requested_callback_later",)
# The outcome breakdown always lists these, in this order among equal counts.
OUTCOME_LABELS: dict[str, str] = {
    "interested": "Interested",
    "requested_callback_later": "Callback requested",
    "not_interested": "Not interested",
    "completed": "Completed",
}


def pct(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole`` (one decimal); null when ``whole`` is 0."""
    return None if whole == 0 else round(100.0 * part / whole, 1)


async def statistics(
    session: AsyncSession, principal: Principal, campaign_id: str, compat: Compat | None = None
) -> dict[str, Any]:
    """The ``statistics`` object; another organization's campaign is a 404."""
    campaign = None
    if is_resource_id(campaign_id):  # the rule of every campaign method
        campaign = await campaign_repo.get(session, principal.organization_id, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign with id {campaign_id!r}")
    await repo.prepare(session)
    assistant = await session.get(Assistant, campaign.assistant_id)
    config: Mapping[str, Any] = assistant.config if assistant is not None else {}
    policy = read_retry_config(campaign.call_retry_config or config.get("call_retry_config"))
    fields = _field_names(config.get("structured_output_config"))
    # Two lanes of independent statements, on two connections when one is free.
    async with side_session(session) as side:
        funnel_lane = _funnel(session, campaign.id)
        counts_lane = _counts(side or session, campaign.id, zone=policy.timezone is None)
        if side is None:
            funnel, counts = await funnel_lane, await counts_lane
        else:
            funnel, counts = await asyncio.gather(funnel_lane, counts_lane)
    status = campaigns.campaign_status(Tally(by_status=counts.by_status))
    legacy = compat is not None and compat.version is not None and compat.version < (0, 4, 0)
    if legacy and campaign.launched_at is None and campaign.cancelled_at is None:
        status = "draft"  # as GET /campaigns/{id} answers SDK 0.3.0
    timezone = policy.timezone or counts.contacts_zone
    totals, leads = funnel.totals, funnel.leads
    imported, jump_in = counts.imported, counts.jump_in
    first_activity_at, last_activity_at = counts.span
    real = totals.real_exchanges
    hot = sum(totals.by_outcome.get(o, 0) for o in HOT_LEAD_OUTCOMES)
    interested = [_lead(lead) for lead in leads if lead.outcome in HOT_LEAD_OUTCOMES]
    callbacks = [_lead(lead) for lead in leads if lead.outcome in CALLBACK_OUTCOMES]
    lead_lists: dict[str, Any] = {"interested": interested, "callback_requested": callbacks}
    if compat is not None and compat.version is not None and compat.version < (0, 4, 0):
        lead_lists |= {"hot": interested, "warm": callbacks}  # SDK 0.3.0's names
    return {
        "campaign": {
            "id": campaign.id,
            "name": campaign.name,
            "agent_name": assistant.name if assistant is not None else None,
            "status": status,
            "is_cancelled": campaign.cancelled_at is not None,
            "timezone": timezone,
            "max_attempts_per_contact": policy.max_retry_attempts,
            "has_activity": first_activity_at is not None,
            "first_activity_at": timestamp(first_activity_at),
            "last_activity_at": timestamp(last_activity_at),
        },
        "effort": {
            "calls_total": totals.outbound_attempts + totals.inbound_calls,
            "outbound_attempts": totals.outbound_attempts,
            "inbound_calls": totals.inbound_calls,
        },
        "funnel": {
            "called": {"count": totals.called, "imported_rows": imported},
            "reached": {
                "count": totals.reached,
                "outbound": totals.reached_outbound,
                "inbound": totals.reached_inbound,
                "overlap": totals.reached_both,
                "pct_of_called": pct(totals.reached, totals.called),
            },
            "real_exchanges": {"count": real, "pct_of_reached": pct(real, totals.reached)},
            "hot_leads": {"count": hot, "pct_of_reached": pct(hot, totals.reached)},
        },
        "hot_lead_outcomes": list(HOT_LEAD_OUTCOMES),
        "outcome_breakdown": _outcome_breakdown(totals.by_outcome),
        "leads": lead_lists,
        "inbound": {"unique_callers": totals.unique_callers},
        "jump_in": {
            "joined_calls": jump_in.joined_calls,
            "median_conversation_seconds": jump_in.median_conversation_seconds,
            # When a person joined is not recorded (docs/campaigns.md#statistics).
            "median_time_to_join_seconds": None,
        },
        "data_extraction": _data_extraction(fields),
    }


@dataclass(frozen=True)
class _Funnel:
    totals: repo.Totals
    leads: list[repo.Lead]


async def _funnel(session: AsyncSession, campaign_id: str) -> _Funnel:
    """The funnel's figures and the leads, over the campaign's numbers."""
    shared = await repo.shared_numbers(session, campaign_id)
    return _Funnel(
        totals=await repo.totals(session, campaign_id, shared),
        leads=await repo.leads(session, campaign_id, HOT_LEAD_OUTCOMES + CALLBACK_OUTCOMES, shared),
    )


@dataclass(frozen=True)
class _Counts:
    by_status: dict[str, int]
    imported: int
    jump_in: repo.JumpIn
    span: tuple[datetime | None, datetime | None]  # first and last activity
    contacts_zone: str


async def _counts(session: AsyncSession, campaign_id: str, *, zone: bool) -> _Counts:
    """Calls by status, rows, jump-ins, the activity span, and the contacts' zone (when
    ``zone``: the campaign has none of its own)."""
    await repo.prepare(session)
    return _Counts(
        by_status=await repo.status_counts(session, campaign_id),
        imported=await repo.imported_rows(session, campaign_id),
        jump_in=await repo.jump_in(session, campaign_id),
        span=await repo.activity_span(session, campaign_id),
        contacts_zone=await _contacts_zone(session, campaign_id) if zone else "UTC",
    )


def _field_names(config: Any) -> list[str]:
    if not isinstance(config, list):
        return []
    names = [spec.get("name") for spec in config if isinstance(spec, Mapping)]
    return [name for name in names if isinstance(name, str) and name]


async def _contacts_zone(session: AsyncSession, campaign_id: str) -> str:
    number = await repo.first_number(session, campaign_id)
    if number is None:
        return "UTC"
    try:
        return zone_names_for_number(number)[0]
    except InvalidPhoneNumber:
        return "UTC"


def _outcome_breakdown(by_outcome: Mapping[str, int]) -> list[dict[str, Any]]:
    known = list(OUTCOME_LABELS)
    names = known + sorted(o for o in by_outcome if o not in OUTCOME_LABELS)
    order = sorted(names, key=lambda o: (-by_outcome.get(o, 0), names.index(o)))
    return [{"outcome": o, "label": _label(o), "count": by_outcome.get(o, 0)} for o in order]


def _label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome) or outcome.replace("_", " ").capitalize()


def _lead(lead: repo.Lead) -> dict[str, Any]:
    contact = lead.contact or {}
    names = (contact.get("first_name"), contact.get("last_name"))
    email = contact.get("email")
    return {
        "call_id": lead.call_id,
        "attempt_id": lead.attempt_id,
        "direction": "inbound" if lead.direction == "inbound" else "outbound",
        "phone": lead.phone,
        "name": " ".join(str(n).strip() for n in names if n and str(n).strip()),
        "email": email if isinstance(email, str) and email else None,
        "summary": lead.summary,
        "outcome": lead.outcome,
        "last_activity_at": timestamp(lead.last_activity_at),
    }


def _data_extraction(fields: Sequence[str]) -> dict[str, Any] | None:
    """The fields the campaign's assistant extracts after each real exchange (its
    ``structured_output_config``); null when it extracts none."""
    if not fields:
        return None
    names = ", ".join(fields)
    return {
        "fields": list(fields),
        "intro": f"After each real exchange the agent extracts {len(fields)} "
        f"field{'s' if len(fields) != 1 else ''}: {names}.",
    }
