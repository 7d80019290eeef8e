"""The campaigns API on every backend: create with contacts (validation with row indexes,
nothing half-written), launch selections and skip counts, pause / resume / cancel of
every call at once, update propagation, rows, streamed export, delete."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from sqlalchemy import func, select, update

from openrevox.schemas.campaigns import MAX_CONTACTS
from openrevox.services import auth, call_export, campaign_export
from openrevox.services.campaign_contacts import CHUNK_CONTACTS
from openrevox.storage.models import Call, Campaign, CampaignRow
from tests.integration.conftest import Api, own_numbers
from tests.integration.test_calls import ALWAYS, MONDAY_PARIS, create_assistant

NUMBERS = [f"+1202555{n:04d}" for n in range(1000, 1100)]
JSON_TYPE = {"content-type": "application/json"}
NO_FILTERS: dict[str, Any] = {
    "assignee_ids": [],
    "directions": [],
    "outcomes": [],
    "results": [],
    "statuses": [],
}


def contacts(count: int, **variables: str) -> list[dict[str, Any]]:
    return [
        {
            "to_phone_number": NUMBERS[i],
            "prompt_variables": {"first_name": f"Ada{i}", "company": "Acme", **variables},
        }
        for i in range(count)
    ]


async def create_campaign(
    api: Api, count: int = 3, status: int = 201, **fields: Any
) -> dict[str, Any]:
    if "assistant_id" not in fields:
        fields["assistant_id"] = (await create_assistant(api))["id"]
    body = {"name": "Spring", "contacts": contacts(count), **fields}
    response = await api.client.post("/campaigns", json=body)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result["campaign"] if status == 201 else result


async def rows_of(api: Api, campaign_id: str, **params: Any) -> dict[str, Any]:
    response = await api.client.get(f"/campaigns/{campaign_id}/rows", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def statuses(api: Api, campaign_id: str) -> list[str]:
    async with api.db.read() as session:
        rows = await session.execute(
            select(Call.status)
            .join(CampaignRow, CampaignRow.call_id == Call.id)
            .where(CampaignRow.campaign_id == campaign_id)
            .order_by(CampaignRow.row_index)
        )
        return [status for (status,) in rows]


async def call_ids(api: Api, campaign_id: str) -> list[str]:
    body = await rows_of(api, campaign_id, page_size=500)
    return [row["call"]["id"] for row in body["rows"]]


async def launch(api: Api, campaign_id: str, status: int = 200, **body: Any) -> dict[str, Any]:
    payload = {
        "mode": "ai_first",
        "selection": {
            "rows": {"mode": "all_except", "call_ids": []},
            "filters": {
                "assignee_ids": [],
                "directions": [],
                "outcomes": [],
                "results": [],
                "statuses": [],
            },
        },
        **body,
    }
    response = await api.client.post(f"/campaigns/{campaign_id}/launch-calls", json=payload)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


async def set_call(api: Api, call_id: str, **values: Any) -> None:
    async with api.db.write() as session:
        await session.execute(update(Call).where(Call.id == call_id).values(**values))


async def table_counts(api: Api) -> tuple[int, int, int]:
    async with api.db.read() as session:
        counts = []
        for model in (Campaign, CampaignRow, Call):
            counts.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return counts[0], counts[1], counts[2]


# ---- create ----


async def test_create_materialises_each_contact_as_a_not_launched_call(api: Api) -> None:
    await own_numbers(api.client, "+14155550000")
    assistant = await create_assistant(api)
    campaign = await create_campaign(
        api,
        count=3,
        assistant_id=assistant["id"],
        call_retry_config=MONDAY_PARIS,
        from_phone_number="+14155550000",
        max_concurrent_calls=2,
    )
    assert campaign["status"] == "paused"  # nothing goes out before a launch
    assert campaign["is_cancelled"] is False
    assert campaign["assistant_id"] == assistant["id"]
    assert campaign["max_concurrent_calls"] == 2
    assert campaign["from_phone_number"] == "+14155550000"
    assert campaign["call_retry_config"]["calling_windows"] == MONDAY_PARIS["calling_windows"]
    assert campaign["row_stats"]["total"] == 3 and campaign["row_stats"]["not_launched"] == 3
    assert campaign["created_by"]["email"] == "owner@acme.test"
    body = await rows_of(api, campaign["id"])
    assert body["total_count"] == 3
    assert [r["row_index"] for r in body["rows"]] == [0, 1, 2]
    assert [r["phone_number"] for r in body["rows"]] == NUMBERS[:3]
    first = body["rows"][0]
    assert first["input_data"] == {"first_name": "Ada0", "company": "Acme"}
    call = first["call"]
    assert call["status"] == "not_launched"
    # The campaign's retry config overrides the assistant's; its number is the calls'.
    assert call["call_retry_config"]["timezone"] == "Europe/Paris"
    assert call["assistant"]["call_retry_config"]["timezone"] == "Europe/Paris"
    assert call["from_phone_number"] == "+14155550000"
    assert call["campaign"] == {"id": campaign["id"], "name": "Spring"}
    # The row's call is the call GET /call/{id} returns; search filters by campaign.
    same = (await api.client.get(f"/call/{call['id']}")).json()["call"]
    assert same == call
    found = await api.client.post(
        "/call/search", json={"campaign_ids": [campaign["id"]], "page_size": 10}
    )
    assert found.json()["total_count"] == 3
    other = await api.client.post("/call/search", json={"campaign_ids": ["nope"]})
    assert other.json()["total_count"] == 0


async def test_every_bad_row_is_reported_in_one_400_and_nothing_is_written(api: Api) -> None:
    assistant = await create_assistant(api)
    rows = contacts(6)
    rows[1]["to_phone_number"] = "not a number"
    del rows[3]["prompt_variables"]["company"]
    rows[4]["to_phone_number"] = NUMBERS[0]  # a duplicate of row 0
    rows[5]["to_phone_number"] = "06 12 34 56 78"  # national: the organization is French
    response = await api.client.post(
        "/campaigns", json={"name": "Bad", "assistant_id": assistant["id"], "contacts": rows}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    paths = [f["path"] for f in error["fields"]]
    assert paths == [
        "contacts[1].to_phone_number",
        "contacts[3].prompt_variables.company",
        "contacts[4].to_phone_number",
    ]
    assert "rows 1, 3, 4" in error["message"] and "nothing was created" in error["message"]
    assert "contacts[0]" in error["fields"][2]["message"]
    assert await table_counts(api) == (0, 0, 0)


async def test_schema_errors_name_the_row_and_unknown_assistant_is_404(api: Api) -> None:
    assistant = await create_assistant(api)
    rows = contacts(3)
    del rows[2]["to_phone_number"]
    response = await api.client.post(
        "/campaigns", json={"name": "X", "assistant_id": assistant["id"], "contacts": rows}
    )
    assert response.status_code == 400
    assert [f["path"] for f in response.json()["error"]["fields"]] == [
        "contacts[2].to_phone_number"
    ]
    missing = await api.client.post(
        "/campaigns", json={"name": "X", "assistant_id": "nope", "contacts": contacts(1)}
    )
    assert missing.status_code == 404
    empty = await api.client.post(
        "/campaigns", json={"name": "X", "assistant_id": assistant["id"], "contacts": []}
    )
    assert empty.status_code == 400
    assert await table_counts(api) == (0, 0, 0)


def many_contacts(count: int) -> list[dict[str, Any]]:
    """``count`` distinct valid numbers: +1 202 555 0000, ... then area code 203, ..."""
    return [
        {
            "to_phone_number": f"+1{202 + n // 10_000}555{n % 10_000:04d}",
            "prompt_variables": {"first_name": "Ada", "company": "Acme"},
        }
        for n in range(count)
    ]


async def test_uploads_beyond_ten_thousand_contacts_up_to_the_limit(api: Api) -> None:
    """The create body is parsed and checked in a worker thread (api/bodies.py), so one
    request takes more than 10,000 contacts; one over the limit is a 400 on ``contacts``
    with nothing written; broken JSON and a non-JSON body are 400s as on every route."""
    assistant = await create_assistant(api)
    body = {"name": "Big", "assistant_id": assistant["id"], "contacts": many_contacts(12_000)}
    response = await api.client.post("/campaigns", json=body)
    assert response.status_code == 201, response.text[:500]
    assert response.json()["campaign"]["row_stats"]["total"] == 12_000
    assert await table_counts(api) == (1, 12_000, 12_000)

    over = {**body, "name": "Too big", "contacts": many_contacts(MAX_CONTACTS + 1)}
    response = await api.client.post("/campaigns", json=over)
    assert response.status_code == 400, response.text[:500]
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["contacts"]
    broken = await api.client.post(
        "/campaigns", content=b'{"name": "X", "contacts": [', headers=JSON_TYPE
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "invalid_json"
    form = await api.client.post("/campaigns", data={"name": "X"})
    assert form.status_code == 400
    assert form.json()["error"]["code"] == "invalid_request"
    launch = await api.client.post("/campaigns/x/launch-calls", content=b"{", headers=JSON_TYPE)
    assert launch.status_code == 400
    assert launch.json()["error"]["code"] == "invalid_json"
    assert await table_counts(api) == (1, 12_000, 12_000)


async def test_contacts_checked_and_inserted_chunk_by_chunk(api: Api) -> None:
    """Contacts go in per chunk as they are checked; a problem in a later chunk (a number
    given in an earlier one, a bad number, a missing variable), or in the campaign's own
    fields, still names every bad row in one 400, and nothing is kept."""
    assistant = await create_assistant(api, prompt="Hello {{first_name}}")
    count = 2 * CHUNK_CONTACTS + 500
    contacts = many_contacts(count)
    last = count - 1
    contacts[CHUNK_CONTACTS + 7]["to_phone_number"] = contacts[3]["to_phone_number"]
    contacts[last]["to_phone_number"] = "+1 nope"
    del contacts[2 * CHUNK_CONTACTS]["prompt_variables"]
    body = {"name": "Chunks", "assistant_id": assistant["id"], "contacts": contacts}
    response = await api.client.post("/campaigns", json=body)
    assert response.status_code == 400, response.text[:500]
    error = response.json()["error"]
    assert [f["path"] for f in error["fields"]] == [
        f"contacts[{CHUNK_CONTACTS + 7}].to_phone_number",
        f"contacts[{2 * CHUNK_CONTACTS}].prompt_variables.first_name",
        f"contacts[{last}].to_phone_number",
    ]
    assert "is already contacts[3]" in error["fields"][0]["message"]
    assert await table_counts(api) == (0, 0, 0)

    del contacts[last]  # the last bad row gone; the campaign's number now bad too
    response = await api.client.post(
        "/campaigns", json={**body, "contacts": contacts, "from_phone_number": "+1 nope"}
    )
    assert response.status_code == 400, response.text[:500]
    assert [f["path"] for f in response.json()["error"]["fields"]] == [
        "from_phone_number",
        f"contacts[{CHUNK_CONTACTS + 7}].to_phone_number",
        f"contacts[{2 * CHUNK_CONTACTS}].prompt_variables.first_name",
    ]
    assert await table_counts(api) == (0, 0, 0)

    contacts[CHUNK_CONTACTS + 7]["to_phone_number"] = "+33612345678"
    contacts[2 * CHUNK_CONTACTS]["prompt_variables"] = {"first_name": "Grace"}
    response = await api.client.post("/campaigns", json={**body, "contacts": contacts})
    assert response.status_code == 201, response.text[:500]
    assert await table_counts(api) == (1, count - 1, count - 1)
    async with api.db.read() as session:
        indexed = dict(
            (
                await session.execute(
                    select(CampaignRow.row_index, CampaignRow.phone_number).where(
                        CampaignRow.row_index.in_((3, CHUNK_CONTACTS + 7, 2 * CHUNK_CONTACTS))
                    )
                )
            ).all()
        )
        row_indexes = (await session.execute(select(CampaignRow.row_index))).scalars().all()
    assert sorted(row_indexes) == list(range(count - 1))
    assert indexed == {
        3: contacts[3]["to_phone_number"],
        CHUNK_CONTACTS + 7: "+33612345678",
        2 * CHUNK_CONTACTS: contacts[2 * CHUNK_CONTACTS]["to_phone_number"],
    }


async def test_other_organizations_do_not_see_the_campaign(api: Api) -> None:
    campaign = await create_campaign(api)
    for method, path in (
        ("GET", ""),
        ("GET", "/rows"),
        ("GET", "/export"),
        ("POST", "/pause"),
        ("POST", "/cancel"),
        ("DELETE", ""),
    ):
        response = await api.other.request(method, f"/campaigns/{campaign['id']}{path}")
        assert response.status_code == 404, (method, path, response.text)
    assert (await api.other.get("/campaigns")).json() == {"campaigns": []}
    listed = (await api.client.get("/campaigns")).json()["campaigns"]
    assert [c["id"] for c in listed] == [campaign["id"]]


# ---- launch ----


async def test_launch_selection_only_and_all_except_with_skip_counts(api: Api) -> None:
    campaign = await create_campaign(api, count=6)
    ids = await call_ids(api, campaign["id"])
    only = await launch(
        api,
        campaign["id"],
        selection={
            "rows": {"mode": "only", "call_ids": ids[:2]},
            "filters": {
                "assignee_ids": [],
                "directions": [],
                "outcomes": [],
                "results": [],
                "statuses": [],
            },
        },
    )
    assert only == {
        "launched": 2,
        "skipped": {"active": 0, "attempts_exhausted": 0, "cancelled": 0},
        "session": None,
    }
    assert await statuses(api, campaign["id"]) == ["queued_for_calling"] * 2 + ["not_launched"] * 4
    assert (await api.client.post(f"/call/{ids[2]}/cancel")).status_code == 200
    await set_call(api, ids[3], status="completed", calls_count=3)
    rest = await launch(
        api,
        campaign["id"],
        selection={
            "rows": {"mode": "all_except", "call_ids": [ids[5]]},
            "filters": {
                "assignee_ids": [],
                "directions": [],
                "outcomes": [],
                "results": [],
                "statuses": [],
            },
        },
    )
    assert rest["launched"] == 1  # ids[4]
    assert rest["skipped"] == {"active": 2, "attempts_exhausted": 1, "cancelled": 1}
    assert await statuses(api, campaign["id"]) == [
        "queued_for_calling",
        "queued_for_calling",
        "cancelled",
        "completed",
        "queued_for_calling",
        "not_launched",
    ]
    retrieved = (await api.client.get(f"/campaigns/{campaign['id']}")).json()["campaign"]
    assert retrieved["status"] == "running"
    assert retrieved["row_stats"] == {
        "total": 6,
        "not_launched": 1,
        "pending": 3,
        "retry": 0,
        "calling": 0,
        "completed": 1,
        "failed": 0,
        "skipped": 1,
    }


async def test_launch_filters_and_scheduled_at_follow_the_windows(api: Api) -> None:
    campaign = await create_campaign(api, count=4, call_retry_config=MONDAY_PARIS)
    ids = await call_ids(api, campaign["id"])
    await set_call(api, ids[0], status="cancelled")
    filters = {
        "assignee_ids": [],
        "directions": ["outbound"],
        "outcomes": [],
        "results": ["none"],
        "statuses": ["not_launched"],
        "query": NUMBERS[1][-4:],
    }
    result = await launch(
        api,
        campaign["id"],
        selection={"rows": {"mode": "all_except", "call_ids": []}, "filters": filters},
        scheduled_at="2030-01-06T12:00:00Z",  # a Sunday: moved to Monday 09:00 in Paris
    )
    assert result["launched"] == 1
    call = (await api.client.get(f"/call/{ids[1]}")).json()["call"]
    assert call["status"] == "scheduled"
    assert call["scheduled_at"] == "2030-01-07T08:00:00Z"
    retrieved = (await api.client.get(f"/campaigns/{campaign['id']}")).json()["campaign"]
    assert retrieved["scheduled_at"] == "2030-01-06T12:00:00Z"
    assert retrieved["status"] == "running"


async def test_a_launch_plans_each_contact_in_its_own_zone(api: Api) -> None:
    """No timezone in the config: Mondays 09:00 local are different instants in Paris and
    Washington; the biggest group and the others are planned, each call once."""
    monday_local = {key: value for key, value in MONDAY_PARIS.items() if key != "timezone"}
    people = [
        {"to_phone_number": number, "prompt_variables": {"first_name": "Ada", "company": "Acme"}}
        for number in ("+12025551000", "+33142685300", "+12025551001", "+12025551002")
    ]
    assistant = await create_assistant(api)
    response = await api.client.post(
        "/campaigns",
        json={
            "name": "Two zones",
            "assistant_id": assistant["id"],
            "contacts": people,
            "call_retry_config": monday_local,
        },
    )
    assert response.status_code == 201, response.text
    campaign = response.json()["campaign"]
    result = await launch(api, campaign["id"], scheduled_at="2030-01-06T12:00:00Z")
    assert result["launched"] == 4
    assert result["skipped"] == {"active": 0, "attempts_exhausted": 0, "cancelled": 0}
    planned = {}
    for call_id in await call_ids(api, campaign["id"]):
        call = (await api.client.get(f"/call/{call_id}")).json()["call"]
        assert call["status"] == "scheduled"
        planned[call["to_phone_number"]] = call["scheduled_at"]
    assert planned == {
        "+12025551000": "2030-01-07T14:00:00Z",  # 09:00 in Washington (UTC-5)
        "+33142685300": "2030-01-07T08:00:00Z",  # 09:00 in Paris (UTC+1)
        "+12025551001": "2030-01-07T14:00:00Z",
        "+12025551002": "2030-01-07T14:00:00Z",
    }
    again = await launch(api, campaign["id"])
    assert again["launched"] == 0
    assert again["skipped"]["active"] == 4


async def test_speed_dial_and_bad_launches_are_clear_4xx(api: Api) -> None:
    campaign = await create_campaign(api, count=2)
    speed = await launch(
        api,
        campaign["id"],
        status=400,
        mode="speed_dial",
    )
    assert speed["error"]["fields"][0]["path"] == "mode"
    assert "not available" in speed["error"]["message"]
    unknown = await launch(api, campaign["id"], status=400, mode="robot")
    assert unknown["error"]["fields"][0]["path"] == "mode"
    missing = await api.client.post(
        f"/campaigns/{campaign['id']}/launch-calls", json={"mode": "ai_first"}
    )
    assert missing.status_code == 400
    assert await statuses(api, campaign["id"]) == ["not_launched"] * 2


# ---- pause, resume, cancel ----


async def test_pause_resume_cancel_act_on_every_call(api: Api) -> None:
    campaign = await create_campaign(api, count=5)
    cid = campaign["id"]
    ids = await call_ids(api, cid)
    await launch(
        api,
        cid,
        selection={
            "rows": {"mode": "all_except", "call_ids": [ids[4]]},
            "filters": {
                "assignee_ids": [],
                "directions": [],
                "outcomes": [],
                "results": [],
                "statuses": [],
            },
        },
    )
    await set_call(api, ids[0], status="completed")
    await set_call(api, ids[1], status="calling", claimed_by="w1")
    assert (await api.client.post(f"/campaigns/{cid}/pause")).status_code == 200
    assert await statuses(api, cid) == [
        "completed",
        "paused",
        "paused",
        "paused",
        "not_launched",
    ]
    paused = (await api.client.get(f"/campaigns/{cid}")).json()["campaign"]
    assert paused["status"] == "paused"
    again = await api.client.post(f"/campaigns/{cid}/pause")
    assert again.status_code == 409 and "cannot pause" in again.json()["error"]["message"]
    assert (await api.client.post(f"/campaigns/{cid}/resume")).status_code == 200
    # The call whose attempt was live at the pause goes back to calling.
    assert await statuses(api, cid) == [
        "completed",
        "calling",
        "queued_for_calling",
        "queued_for_calling",
        "not_launched",
    ]
    assert (await api.client.post(f"/campaigns/{cid}/resume")).status_code == 409
    assert (await api.client.post(f"/campaigns/{cid}/cancel")).status_code == 200
    # The call with a live attempt finishes it (the dispatcher does not retry it after).
    assert await statuses(api, cid) == ["completed", "calling"] + ["cancelled"] * 3
    cancelled = (await api.client.get(f"/campaigns/{cid}")).json()["campaign"]
    assert cancelled["is_cancelled"] is True and cancelled["status"] == "running"
    assert cancelled["row_stats"]["skipped"] == 3
    await set_call(api, ids[1], status="cancelled", claimed_by=None)  # as the dispatcher ends it
    over = (await api.client.get(f"/campaigns/{cid}")).json()["campaign"]
    assert over["status"] == "completed" and over["row_stats"]["skipped"] == 4
    assert (await api.client.post(f"/campaigns/{cid}/cancel")).status_code == 409
    assert (await launch(api, cid, status=409))["error"]["code"] == "conflict"
    for action in ("pause", "resume"):
        refused = await api.client.post(f"/campaigns/{cid}/{action}")
        assert refused.status_code == 409
        assert refused.json()["error"]["message"] == f"cannot {action} a campaign that is cancelled"


async def test_concurrent_pause_and_resume_never_leave_a_campaign_half_paused(api: Api) -> None:
    campaign = await create_campaign(api, count=40)
    cid = campaign["id"]
    await launch(api, cid)
    for _ in range(4):
        responses = await asyncio.gather(
            api.client.post(f"/campaigns/{cid}/pause"),
            api.client.post(f"/campaigns/{cid}/resume"),
            api.client.post(f"/campaigns/{cid}/pause"),
        )
        assert {r.status_code for r in responses} <= {200, 409}
        seen = set(await statuses(api, cid))
        assert seen in ({"paused"}, {"queued_for_calling"}), seen
    await asyncio.gather(
        api.client.post(f"/campaigns/{cid}/cancel"), api.client.post(f"/campaigns/{cid}/resume")
    )
    assert set(await statuses(api, cid)) == {"cancelled"}


# ---- update ----


async def test_update_reaches_calls_not_over(api: Api) -> None:
    await own_numbers(api.client, "+14155550000", "+14155550001")
    campaign = await create_campaign(api, count=4, from_phone_number="+14155550000")
    cid = campaign["id"]
    ids = await call_ids(api, cid)
    await launch(
        api,
        cid,
        selection={
            "rows": {"mode": "only", "call_ids": ids[:2]},
            "filters": {
                "assignee_ids": [],
                "directions": [],
                "outcomes": [],
                "results": [],
                "statuses": [],
            },
        },
    )
    await set_call(api, ids[0], status="completed")
    response = await api.client.patch(
        f"/campaigns/{cid}",
        json={
            "name": "Summer",
            "from_phone_number": "+14155550001",
            "max_concurrent_calls": 5.0,
            "call_retry_config": MONDAY_PARIS,
        },
    )
    assert response.status_code == 200, response.text
    updated = response.json()["campaign"]
    assert updated["name"] == "Summer" and updated["max_concurrent_calls"] == 5
    assert updated["from_phone_number"] == "+14155550001"
    calls = [(await api.client.get(f"/call/{i}")).json()["call"] for i in ids]
    assert calls[0]["from_phone_number"] == "+14155550000"  # over: untouched
    assert calls[0]["call_retry_config"]["calling_windows"] == ALWAYS["calling_windows"]
    for call in calls[1:]:
        assert call["from_phone_number"] == "+14155550001"
        assert call["call_retry_config"]["timezone"] == "Europe/Paris"
        assert call["campaign"]["name"] == "Summer"
    # The launched call is planned again inside the new windows (a Monday in Paris).
    assert calls[1]["status"] in ("scheduled", "queued_for_calling")
    async with api.db.read() as session:
        planned = await session.scalar(select(Call.next_attempt_at).where(Call.id == ids[1]))
    assert planned is not None
    paris = planned.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert paris.weekday() == 0 and 9 <= paris.hour < 17
    # null: back to the assistant's configuration; no campaign limit.
    cleared = await api.client.patch(
        f"/campaigns/{cid}", json={"call_retry_config": None, "max_concurrent_calls": None}
    )
    assert cleared.status_code == 200
    assert cleared.json()["campaign"]["call_retry_config"] is None
    assert cleared.json()["campaign"]["max_concurrent_calls"] is None
    call = (await api.client.get(f"/call/{ids[3]}")).json()["call"]
    assert call["call_retry_config"]["calling_windows"] == ALWAYS["calling_windows"]
    bad = await api.client.patch(
        f"/campaigns/{cid}", json={"from_phone_number": "12", "max_concurrent_calls": 2.5}
    )
    assert bad.status_code == 400
    assert [f["path"] for f in bad.json()["error"]["fields"]] == ["max_concurrent_calls"]
    bad_number = await api.client.patch(f"/campaigns/{cid}", json={"from_phone_number": "12"})
    assert bad_number.status_code == 400
    assert bad_number.json()["error"]["fields"][0]["path"] == "from_phone_number"


# ---- rows and export ----


async def test_rows_are_paged_and_filtered(api: Api) -> None:
    campaign = await create_campaign(api, count=5)
    cid = campaign["id"]
    ids = await call_ids(api, cid)
    await set_call(api, ids[1], status="cancelled")
    await set_call(api, ids[3], status="completed", outcome="interested", result="human")
    page = await rows_of(api, cid, page=1, page_size=2)
    assert [r["row_index"] for r in page["rows"]] == [2, 3] and page["total_count"] == 5
    done = await rows_of(api, cid, statuses="completed,cancelled")
    assert [r["row_index"] for r in done["rows"]] == [1, 3] and done["total_count"] == 2
    hot = await rows_of(api, cid, outcomes="interested", results="human")
    assert [r["row_index"] for r in hot["rows"]] == [3]
    found = await rows_of(api, cid, query="Ada4")
    assert [r["row_index"] for r in found["rows"]] == [4]
    bad = await api.client.get(f"/campaigns/{cid}/rows", params={"statuses": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["fields"][0]["path"] == "statuses"
    retrieved = (await api.client.get(f"/campaigns/{cid}")).json()["campaign"]
    assert retrieved["funnel_stats"] == {"total_leads": 5, "talked_to_human": 1, "hot": 1}


async def test_export_columns_gather_every_rows_variables_and_outputs(api: Api) -> None:
    """Column names come from every row: a variable only one contact has, an output key
    no config names, keys of a config; a non-object output adds none."""
    campaign = await create_campaign(api, count=3)
    async with api.db.write() as session:
        rows = (
            await session.execute(
                select(CampaignRow).where(CampaignRow.campaign_id == campaign["id"])
            )
        ).scalars()
        by_index = {row.row_index: row for row in rows}
        by_index[2].input_data = {**by_index[2].input_data, "note": "VIP"}
    ids = await call_ids(api, campaign["id"])
    await set_call(api, ids[0], structured_output={"email": "ada@example.com"})
    await set_call(api, ids[1], structured_output=["not", "an", "object"])
    response = await api.client.get(
        f"/campaigns/{campaign['id']}/export", headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200, response.text
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0][9:] == ["company", "first_name", "note", "structured_output.email"]
    assert [line[11] for line in table[1:]] == ["", "", "VIP"]
    assert [line[12] for line in table[1:]] == ["ada@example.com", "", ""]


async def test_export_streams_every_row_with_variables_and_outputs(api: Api) -> None:
    count = 1500
    assistant = await create_assistant(
        api,
        structured_output_config=[
            {"name": "budget", "required": False, "type": "number", "description": "Budget"}
        ],
    )
    body = {
        "name": "Big export",
        "assistant_id": assistant["id"],
        "contacts": [
            {
                "to_phone_number": f"+1202{5550000 + i:07d}",
                "prompt_variables": {"first_name": f"Ada{i}", "company": "Acme, Inc."},
            }
            for i in range(count)
        ],
    }
    response = await api.client.post("/campaigns", json=body)
    assert response.status_code == 201, response.text
    cid = response.json()["campaign"]["id"]
    first = (await rows_of(api, cid, page_size=1))["rows"][0]["call"]["id"]
    await set_call(
        api,
        first,
        status="completed",
        result="human",
        outcome="interested",
        outcome_summary="Wants a demo",
        summary="Ada wants a demo.",
        structured_output={"budget": 1200},
    )
    # Written as it is read: chunks of about CHUNK_CHARS, never the whole file at once.
    async with api.db.read() as session:
        principal = await auth.authenticate(session, api.key)
        plan = await campaign_export.plan(session, principal, cid)
        sizes = [len(chunk) async for chunk in campaign_export.csv_chunks(session, plan)]
    assert len(sizes) >= 3
    assert max(sizes) < call_export.CHUNK_CHARS + 1000
    response = await api.client.get(f"/campaigns/{cid}/export")
    assert response.status_code == 200
    envelope = response.json()
    assert envelope["filename"].startswith("Big-export-") and envelope["filename"].endswith(".csv")
    table = list(csv.reader(io.StringIO(envelope["csv"])))
    assert table[0] == [
        "row_index",
        "phone_number",
        "call_id",
        "call_status",
        "result",
        "outcome",
        "outcome_summary",
        "summary",
        "calls_count",
        "company",
        "first_name",
        "structured_output.budget",
    ]
    assert len(table) == count + 1
    assert table[1] == [
        "0",
        "+12025550000",
        first,
        "completed",
        "human",
        "interested",
        "Wants a demo",
        "Ada wants a demo.",
        "0",
        "Acme, Inc.",
        "Ada0",
        "1200",
    ]
    assert table[-1][0] == str(count - 1) and table[-1][3] == "not_launched"
    bare = await api.client.get(f"/campaigns/{cid}/export", headers={"Accept": "text/csv"})
    assert bare.headers["content-type"].startswith("text/csv")
    assert bare.text == envelope["csv"]


# ---- delete ----


async def test_delete_archives_and_places_no_new_call(api: Api) -> None:
    campaign = await create_campaign(api, count=4)
    cid = campaign["id"]
    ids = await call_ids(api, cid)
    await launch(
        api,
        cid,
        selection={
            "rows": {"mode": "only", "call_ids": ids[:3]},
            "filters": NO_FILTERS,
        },
    )
    await set_call(api, ids[0], status="calling", claimed_by="w1")
    await set_call(api, ids[1], status="post_processing")
    assert (await api.client.delete(f"/campaigns/{cid}")).status_code == 200
    assert (await api.client.get(f"/campaigns/{cid}")).status_code == 404
    assert (await api.client.get("/campaigns")).json() == {"campaigns": []}
    # The live call finishes (not retried after: the campaign counts as cancelled); the
    # others that had not started are cancelled; after-call work goes on.
    assert await statuses(api, cid) == ["calling", "post_processing", "cancelled", "cancelled"]
    async with api.db.read() as session:
        stored = await session.get(Campaign, cid)
    assert stored is not None and stored.deleted_at is not None
    assert stored.cancelled_at is not None
    call = (await api.client.get(f"/call/{ids[0]}")).json()["call"]
    assert call["campaign"] == {"id": cid, "name": "Spring"}
    found = await api.client.post("/call/search", json={"campaign_ids": [cid]})
    assert found.json()["total_count"] == 4
    assert (await api.client.delete(f"/campaigns/{cid}")).status_code == 404


async def test_an_assistant_update_keeps_the_campaigns_retry_config(api: Api) -> None:
    assistant = await create_assistant(api)
    campaign = await create_campaign(
        api, count=2, assistant_id=assistant["id"], call_retry_config=MONDAY_PARIS
    )
    plain = await create_campaign(api, count=1, assistant_id=assistant["id"])
    ids = await call_ids(api, campaign["id"])
    await launch(api, campaign["id"])
    before = (await api.client.get(f"/call/{ids[0]}")).json()["call"]
    changed = {**ALWAYS, "max_retry_attempts": 5}
    response = await api.client.patch(
        f"/assistants/{assistant['id']}",
        json={
            "prompt": "New: you call {{first_name}} from {{company}}.",
            "call_retry_config": changed,
        },
    )
    assert response.status_code == 200, response.text
    for call_id in ids:
        call = (await api.client.get(f"/call/{call_id}")).json()["call"]
        assert call["assistant"]["prompt"].startswith("New:")  # the new snapshot
        assert call["call_retry_config"]["timezone"] == "Europe/Paris"  # still the campaign's
        assert call["call_retry_config"]["max_retry_attempts"] == 2
    after = (await api.client.get(f"/call/{ids[0]}")).json()["call"]
    assert after["scheduled_at"] == before["scheduled_at"]  # its windows did not change
    [other] = await call_ids(api, plain["id"])
    call = (await api.client.get(f"/call/{other}")).json()["call"]
    assert call["call_retry_config"]["max_retry_attempts"] == 5  # no override: the assistant's


async def test_a_resume_that_fails_on_one_call_changes_none(api: Api) -> None:
    campaign = await create_campaign(api, count=3)
    cid = campaign["id"]
    ids = await call_ids(api, cid)
    await launch(api, cid)
    assert (await api.client.post(f"/campaigns/{cid}/pause")).status_code == 200
    # One call's retry configuration allows no time at all (written behind the API's back).
    async with api.db.write() as session:
        call = await session.get(Call, ids[1])
        assert call is not None
        call.assistant_snapshot = {
            **call.assistant_snapshot,
            "call_retry_config": {**ALWAYS, "allowed_days": []},
        }
    response = await api.client.post(f"/campaigns/{cid}/resume")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["fields"][0]["path"] == "call_retry_config"
    assert await statuses(api, cid) == ["paused"] * 3  # all or nothing


async def test_concurrent_launches_launch_each_call_once(api: Api) -> None:
    campaign = await create_campaign(api, count=30)
    cid = campaign["id"]
    results = await asyncio.gather(*(launch(api, cid) for _ in range(4)))
    assert sum(r["launched"] for r in results) == 30
    assert all(r["launched"] + r["skipped"]["active"] == 30 for r in results)
    assert set(await statuses(api, cid)) == {"queued_for_calling"}


async def test_phone_history_names_the_campaigns(api: Api) -> None:
    campaign = await create_campaign(api, count=2)
    history = (await api.client.get("/calls/phone-history")).json()["phone_history"]
    assert history[NUMBERS[0]]["campaigns"] == [{"id": campaign["id"], "name": "Spring"}]
    assert history[NUMBERS[1]]["count"] == 1


async def test_malformed_requests_are_4xx_never_500(api: Api) -> None:
    assistant = await create_assistant(api)
    campaign = await create_campaign(api, count=2, assistant_id=assistant["id"])
    cid = campaign["id"]
    base = {"name": "X", "assistant_id": assistant["id"], "contacts": contacts(1)}
    bodies: list[Any] = [
        None,
        [],
        {**base, "contacts": "nope"},
        {**base, "contacts": [{"to_phone_number": 12, "prompt_variables": {}}]},
        {**base, "contacts": [{"to_phone_number": NUMBERS[0], "prompt_variables": {"a": {}}}]},
        {**base, "contacts": [{"to_phone_number": "+1\x00", "prompt_variables": {}}]},
        {**base, "max_concurrent_calls": 0},
        {**base, "max_concurrent_calls": "many"},
        {**base, "call_retry_config": {"calling_windows": []}},
        {**base, "name": ""},
        {**base, "type": "jump_in"},
        {**base, "scheduled_at": "tomorrow"},
        {**base, "unknown": 1},
    ]
    for body in bodies:
        response = await api.client.post("/campaigns", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] in ("invalid_request", "invalid_json")
    for payload in (
        {"name": None},
        {"max_concurrent_calls": -1},
        {"call_retry_config": {"max_retry_attempts": 0}},
        {"from_phone_number": "x" * 100},
    ):
        response = await api.client.patch(f"/campaigns/{cid}", json=payload)
        assert response.status_code == 400, (payload, response.text)
    for payload in (
        {"mode": "ai_first"},
        {"mode": "ai_first", "selection": {"rows": {"mode": "some", "call_ids": []}}},
        {"mode": "ai_first", "selection": {}, "scheduled_at": 5},
    ):
        response = await api.client.post(f"/campaigns/{cid}/launch-calls", json=payload)
        assert response.status_code == 400, (payload, response.text)
    for params in ({"page": -1}, {"page_size": 0}, {"page_size": 501}, {"outcomes": "meh"}):
        response = await api.client.get(f"/campaigns/{cid}/rows", params=params)
        assert response.status_code == 400, (params, response.text)
    for path in ("/campaigns/%00", "/campaigns/" + "x" * 300, "/campaigns/x/rows"):
        response = await api.client.get(path)
        assert response.status_code == 404, (path, response.text)
    assert await statuses(api, cid) == ["not_launched"] * 2
