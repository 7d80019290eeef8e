"""``GET /campaigns/{id}/statistics`` on every backend: calls and attempts in known states
are written straight into the database, then every figure is checked (definitions in
docs/campaigns.md#statistics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from openrevox.storage.models import Call, CallAttempt, CampaignRow, new_id
from tests.integration.conftest import Api
from tests.integration.test_calls import create_assistant
from tests.integration.test_campaigns import NUMBERS, create_campaign

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OUR_NUMBER = "+33198765432"
FIELDS = [
    {"name": "email", "type": "string", "required": False},
    {"name": "budget", "type": "number", "required": False},
]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def statistics(api: Api, campaign_id: str, **headers: str) -> dict[str, Any]:
    response = await api.client.get(f"/campaigns/{campaign_id}/statistics", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["statistics"]
    return body


async def row_calls(api: Api, campaign_id: str) -> list[str]:
    async with api.db.read() as session:
        rows = await session.execute(
            select(CampaignRow.call_id)
            .where(CampaignRow.campaign_id == campaign_id)
            .order_by(CampaignRow.row_index)
        )
        return [call_id for (call_id,) in rows]


async def finish(api: Api, call_id: str, attempts: list[dict[str, Any]], **call: Any) -> None:
    """Give a call its attempts (numbered in order) and set its columns."""
    async with api.db.write() as session:
        number = (await session.get(Call, call_id)).to_phone_number  # type: ignore[union-attr]
        for i, values in enumerate(attempts, start=1):
            session.add(
                CallAttempt(
                    id=new_id(),
                    call_id=call_id,
                    attempt_number=i,
                    status=values.pop("status", "completed"),
                    phone_number=number,
                    **values,
                )
            )
        # As the dispatcher and the analysis leave it: the latest attempt's result, and
        # updated when the analysis wrote the verdict, a minute after the last attempt.
        ends = [a.get("ended_at") or a["started_at"] for a in attempts]
        values = {
            "status": "completed",
            "calls_count": len(attempts),
            "result": attempts[-1].get("result") if attempts else None,
            **({"updated_at": max(ends) + timedelta(minutes=1)} if ends else {}),
            **call,
        }
        await session.execute(update(Call).where(Call.id == call_id).values(**values))


async def inbound(
    api: Api,
    organization_id: str,
    campaign_id: str,
    caller: str,
    attempt: dict[str, Any],
    **call: Any,
) -> str:
    """An inbound call of the campaign from ``caller``, with one attempt."""
    call_id = new_id()
    async with api.db.write() as session:
        session.add(
            Call(
                id=call_id,
                organization_id=organization_id,
                assistant_snapshot={},
                to_phone_number=OUR_NUMBER,
                from_phone_number=caller,
                direction="inbound",
                status="completed",
                scheduled_at=attempt["started_at"],
                campaign_id=campaign_id,
                calls_count=1,
                created_at=attempt["started_at"],
                updated_at=attempt["started_at"],
                **call,
            )
        )
        await session.flush()
        session.add(
            CallAttempt(
                id=new_id(),
                call_id=call_id,
                attempt_number=1,
                status="completed",
                phone_number=OUR_NUMBER,
                **attempt,
            )
        )
    return call_id


def human(start: float, seconds: float, **values: Any) -> dict[str, Any]:
    return {
        "result": "human",
        "started_at": at(start),
        "answered_at": at(start) + timedelta(seconds=5),
        "ended_at": at(start) + timedelta(seconds=5 + seconds),
        **values,
    }


def unanswered(start: float, **values: Any) -> dict[str, Any]:
    return {"started_at": at(start), "ended_at": at(start) + timedelta(seconds=30), **values}


async def seeded_campaign(api: Api) -> tuple[dict[str, Any], dict[str, str]]:
    """Eight contacts N0..N7 and four inbound calls; returns the campaign and ids."""
    assistant = await create_assistant(api, structured_output_config=FIELDS)
    campaign = await create_campaign(api, count=8, assistant_id=assistant["id"])
    ids = await row_calls(api, campaign["id"])
    org = campaign["organization_id"]
    n = NUMBERS
    # N0: voicemail, then a person: interested.
    await finish(
        api,
        ids[0],
        [unanswered(0, result="voicemail"), human(60, 90)],
        outcome="interested",
        outcome_summary="Wants a demo",
        contact={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        structured_output={"email": "ada@example.com", "budget": 1200},
    )
    # N1: a person, not interested; later calls in and is interested (newest verdict).
    await finish(
        api,
        ids[1],
        [human(1, 40)],
        outcome="not_interested",
        structured_output={"email": None, "budget": None},
    )
    # N2: a person who said nothing: reached, no outcome.
    await finish(api, ids[2], [human(2, 3)])
    # N3: three dials, never answered. N4: voicemail only.
    await finish(
        api,
        ids[3],
        [unanswered(3, dial_error="no_answer") for _ in range(3)],
    )
    await finish(api, ids[4], [unanswered(4, result="voicemail")])
    # N5: never launched (stays not_launched).
    # N6: callback requested; a team member joined (120 s).
    await finish(
        api,
        ids[6],
        [human(6, 120, handled_by_human=True)],
        outcome="requested_callback_later",
        summary="Call back Tuesday",
        contact={"first_name": "Bob", "last_name": None, "email": None},
        structured_output={"email": "bob@example.com", "budget": None},
    )
    # N7: completed; joined (60 s).
    await finish(api, ids[7], [human(7, 60, handled_by_human=True)], outcome="completed")
    # Inbound: N1 again (interested, joined 30 s), N8 (answered, silent), N9 twice missed.
    inbound_n1 = await inbound(
        api,
        org,
        campaign["id"],
        n[1],
        human(100, 30, handled_by_human=True),
        outcome="interested",
        outcome_summary="Changed their mind",
        structured_output={"email": "n1@example.com"},
    )
    await inbound(api, org, campaign["id"], n[8], human(20, 10))
    await inbound(api, org, campaign["id"], n[9], unanswered(21))
    await inbound(api, org, campaign["id"], n[9], unanswered(22))
    return campaign, {"n0": ids[0], "n6": ids[6], "inbound_n1": inbound_n1}


async def test_every_figure_on_a_campaign_in_known_states(api: Api) -> None:
    campaign, ids = await seeded_campaign(api)
    # Noise that must not count: another campaign of the organization, with a hot lead.
    other = await create_campaign(api, count=2)
    other_ids = await row_calls(api, other["id"])
    await finish(api, other_ids[0], [human(0, 10, handled_by_human=True)], outcome="interested")

    stats = await statistics(api, campaign["id"])

    assert stats["campaign"] == {
        "id": campaign["id"],
        "name": "Spring",
        "agent_name": "Sales",
        "status": "paused",  # N5 waits for a launch
        "is_cancelled": False,
        "timezone": "America/New_York",  # +1 202: the first contact's zone
        "max_attempts_per_contact": 3,
        "has_activity": True,
        "first_activity_at": "2026-01-05T09:00:00Z",
        "last_activity_at": "2026-01-05T10:40:35Z",  # the inbound call from N1 ended
    }
    assert stats["effort"] == {"calls_total": 14, "outbound_attempts": 10, "inbound_calls": 4}
    assert stats["funnel"] == {
        "called": {"count": 9, "imported_rows": 8},
        "reached": {
            "count": 6,
            "outbound": 5,
            "inbound": 2,
            "overlap": 1,
            "pct_of_called": 66.7,
        },
        "real_exchanges": {"count": 4, "pct_of_reached": 66.7},
        "hot_leads": {"count": 2, "pct_of_reached": 33.3},
    }
    assert stats["hot_lead_outcomes"] == ["interested"]
    assert stats["outcome_breakdown"] == [
        {"outcome": "interested", "label": "Interested", "count": 2},
        {"outcome": "requested_callback_later", "label": "Callback requested", "count": 1},
        {"outcome": "completed", "label": "Completed", "count": 1},
        {"outcome": "not_interested", "label": "Not interested", "count": 0},
    ]
    assert sum(o["count"] for o in stats["outcome_breakdown"]) == 4
    assert stats["inbound"] == {"unique_callers": 3}
    assert stats["jump_in"] == {
        "joined_calls": 3,
        "median_conversation_seconds": 60.0,
        "median_time_to_join_seconds": None,
    }
    interested = stats["leads"]["interested"]
    assert [lead["phone"] for lead in interested] == [NUMBERS[1], NUMBERS[0]]
    assert interested[0]["call_id"] == ids["inbound_n1"]
    assert interested[0]["direction"] == "inbound"
    assert interested[0]["summary"] == "Changed their mind"
    assert interested[0]["name"] == "" and interested[0]["email"] is None
    assert interested[1] == {
        "call_id": ids["n0"],
        "attempt_id": interested[1]["attempt_id"],
        "direction": "outbound",
        "phone": NUMBERS[0],
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "summary": "Wants a demo",
        "outcome": "interested",
        "last_activity_at": "2026-01-05T10:01:35Z",
    }
    async with api.db.read() as session:
        latest = await session.scalar(
            select(CallAttempt.id).where(
                CallAttempt.call_id == ids["n0"], CallAttempt.attempt_number == 2
            )
        )
    assert interested[1]["attempt_id"] == latest
    [callback] = stats["leads"]["callback_requested"]
    assert (callback["call_id"], callback["name"], callback["summary"]) == (
        ids["n6"],
        "Bob",
        "Call back Tuesday",
    )
    assert "hot" not in stats["leads"]  # SDK 0.3.0's names, for that SDK only
    assert stats["data_extraction"] == {
        "fields": ["email", "budget"],
        "intro": "After each real exchange the agent extracts 2 fields: email, budget.",
    }


async def test_a_new_campaign_has_zeros_and_null_percentages(api: Api) -> None:
    campaign = await create_campaign(api, count=3)
    stats = await statistics(api, campaign["id"])
    assert stats["campaign"]["has_activity"] is False
    assert stats["campaign"]["first_activity_at"] is None
    assert stats["campaign"]["last_activity_at"] is None
    assert stats["effort"] == {"calls_total": 0, "outbound_attempts": 0, "inbound_calls": 0}
    assert stats["funnel"] == {
        "called": {"count": 0, "imported_rows": 3},
        "reached": {"count": 0, "outbound": 0, "inbound": 0, "overlap": 0, "pct_of_called": None},
        "real_exchanges": {"count": 0, "pct_of_reached": None},
        "hot_leads": {"count": 0, "pct_of_reached": None},
    }
    assert [o["count"] for o in stats["outcome_breakdown"]] == [0, 0, 0, 0]
    assert stats["leads"] == {"interested": [], "callback_requested": []}
    assert stats["jump_in"]["joined_calls"] == 0
    assert stats["jump_in"]["median_conversation_seconds"] is None
    assert stats["data_extraction"] is None  # the assistant extracts nothing
    # SDK 0.3.0 reads a campaign not launched as a draft, and its leads as hot / warm.
    legacy = await statistics(api, campaign["id"], **{"X-Stainless-Package-Version": "0.3.0"})
    assert legacy["campaign"]["status"] == "draft"
    assert legacy["leads"] == {"interested": [], "callback_requested": [], "hot": [], "warm": []}


async def test_campaign_settings_and_cancelled_campaign(api: Api) -> None:
    retry = {
        "allowed_days": ["monday"],
        "call_twice_in_a_row": False,
        "calling_windows": [
            {
                "calling_window_start_time": "09:00",
                "calling_window_end_time": "18:00",
                "retry_delay_seconds": 60,
            }
        ],
        "max_retry_attempts": 5,
        "timezone": "Europe/Paris",
    }
    campaign = await create_campaign(api, count=2, call_retry_config=retry)
    response = await api.client.post(f"/campaigns/{campaign['id']}/cancel")
    assert response.status_code == 200, response.text
    stats = await statistics(api, campaign["id"])
    assert stats["campaign"]["timezone"] == "Europe/Paris"
    assert stats["campaign"]["max_attempts_per_contact"] == 5
    assert stats["campaign"]["is_cancelled"] is True
    assert stats["campaign"]["status"] == "completed"


async def test_missing_and_other_organizations_campaigns_are_404(api: Api) -> None:
    campaign = await create_campaign(api, count=1)
    for client, campaign_id in (
        (api.other, campaign["id"]),
        (api.client, new_id()),
        (api.client, "not-an-id"),
    ):
        response = await client.get(f"/campaigns/{campaign_id}/statistics")
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    response = await api.anonymous.get(f"/campaigns/{campaign['id']}/statistics")
    assert response.status_code == 401
    assert "error" in response.json()


async def test_outcomes_outside_the_four_are_listed_after_them(api: Api) -> None:
    """An outcome stored by an older vocabulary (SDK 0.3.0's ``do_not_contact``) still
    counts, labelled from its name, after the four (ties keep that order)."""
    campaign = await create_campaign(api, count=3)
    ids = await row_calls(api, campaign["id"])
    await finish(api, ids[0], [human(0, 30)], outcome="do_not_contact")
    await finish(api, ids[1], [human(1, 30)], outcome="completed")
    stats = await statistics(api, campaign["id"])
    assert stats["outcome_breakdown"] == [
        {"outcome": "completed", "label": "Completed", "count": 1},
        {"outcome": "do_not_contact", "label": "Do not contact", "count": 1},
        {"outcome": "interested", "label": "Interested", "count": 0},
        {"outcome": "requested_callback_later", "label": "Callback requested", "count": 0},
        {"outcome": "not_interested", "label": "Not interested", "count": 0},
    ]
    assert stats["funnel"]["real_exchanges"]["count"] == 2
    assert stats["campaign"]["status"] == "paused"  # the third call is not launched
