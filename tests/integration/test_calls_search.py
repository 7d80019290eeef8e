"""Searching calls on every backend: every filter, paging, sorting, the CSV export, the
phone history, and SDK 0.1.1's ``GET /call``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from openrevox.services import call_export
from openrevox.storage.models import Call, new_id, utcnow
from openrevox.storage.repositories import calls as repo
from tests.integration.conftest import Api
from tests.integration.test_calls import (
    ALWAYS,
    PHONE,
    VARIABLES,
    add_attempt,
    create_assistant,
    place,
    set_call,
)

OTHER_PHONE = "+14155552672"
FRENCH_PHONE = "+33612345678"


@dataclass
class World:
    """Four calls of two assistants, in creation order c1..c4 (c4 newest)."""

    a: dict[str, Any]
    b: dict[str, Any]
    c1: str
    c2: str
    c3: str
    c4: str
    user_id: str
    attempts: dict[str, str]


@pytest.fixture
async def world(api: Api) -> World:
    a = await create_assistant(
        api,
        name="Alpha",
        structured_output_config=[{"name": "budget", "required": False, "type": "number"}],
    )
    b = await create_assistant(api, name="Beta")
    user_id = (await api.client.get("/users/me")).json()["user"]["id"]
    c1 = await place(
        api,
        assistant_id=a["id"],
        prompt_variables=VARIABLES,
        metadata={"crm_id": "1", "tier": "gold"},
    )
    c2 = await place(
        api,
        assistant_id=a["id"],
        prompt_variables={**VARIABLES, "first_name": "Grace"},
        phone_number="06 12 34 56 78",
        metadata={"crm_id": "2", "note": 'says "hi",\nthen é'},
    )
    c3 = await place(
        api, assistant_id=b["id"], prompt_variables=VARIABLES, phone_number=OTHER_PHONE
    )
    c4 = await place(api, assistant={"prompt": "Plain.", "call_retry_config": ALWAYS})
    start = utcnow() - timedelta(days=1)
    attempts = {
        "c1-1": await add_attempt(
            api, c1["id"], 1, status="completed", result="voicemail", started_at=start
        ),
        "c1-2": await add_attempt(
            api,
            c1["id"],
            2,
            status="completed",
            result="human",
            started_at=start + timedelta(hours=2),
            answered_at=start + timedelta(hours=2, seconds=5),
            ended_at=start + timedelta(hours=2, seconds=65),
            transcript=[
                {"role": "assistant", "content": "Hello Ada"},
                {"role": "user", "content": "Hi, yes"},
            ],
            structured_output={"email": "ada@example.com", "budget": 1200},
        ),
        "c3-1": await add_attempt(
            api,
            c3["id"],
            1,
            status="error",
            dial_error="busy",
            result="voicemail",
            phone_number=OTHER_PHONE,
            started_at=start + timedelta(hours=1),
        ),
    }
    await set_call(
        api,
        c1["id"],
        status="completed",
        outcome="interested",
        outcome_summary="Wants a demo",
        result="human",
        campaign_id="camp-1",
        assignee_id=user_id,
        calls_count=2,
        contact={"first_name": "Ada", "company": "Acme"},
    )
    await set_call(api, c2["id"], status="scheduled")
    await set_call(
        api,
        c3["id"],
        status="errored",
        outcome="not_interested",
        result="voicemail",
        direction="inbound",
        from_phone_number="+14155550000",
        do_not_contact=True,
        calls_count=1,
    )
    await set_call(api, c4["id"], status="cancelled", result="voicemail")
    return World(a, b, c1["id"], c2["id"], c3["id"], c4["id"], user_id, attempts)


async def search(api: Api, status: int = 200, **body: Any) -> dict[str, Any]:
    response = await api.client.post("/call/search", json=body)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


async def ids(api: Api, **body: Any) -> list[str]:
    return [c["id"] for c in (await search(api, **body))["calls"]]


async def test_every_filter(api: Api, world: World) -> None:
    w = world
    assert await ids(api) == [w.c4, w.c3, w.c2, w.c1]  # newest first
    assert await ids(api, statuses=["completed", "cancelled"]) == [w.c4, w.c1]
    assert await ids(api, assistant_ids=[w.a["id"]]) == [w.c2, w.c1]
    assert await ids(api, assignee_ids=[w.user_id]) == [w.c1]
    assert await ids(api, campaign_ids=["camp-1"]) == [w.c1]
    assert await ids(api, directions=["inbound"]) == [w.c3]
    assert await ids(api, directions=["outbound"]) == [w.c4, w.c2, w.c1]
    assert await ids(api, from_phone_numbers=["+1 415 555 0000"]) == [w.c3]
    assert await ids(api, outcomes=["interested"]) == [w.c1]
    assert await ids(api, outcomes=["none"]) == [w.c4, w.c2]
    assert await ids(api, outcomes=["interested", "none"]) == [w.c4, w.c2, w.c1]
    assert await ids(api, outcomes=["do_not_contact"]) == []  # SDK 0.3.0's: never set now
    assert await ids(api, results=["voicemail"]) == [w.c4, w.c3]
    assert await ids(api, results=["none"]) == [w.c2]
    assert await ids(api, results=["human", "none"]) == [w.c2, w.c1]
    assert await ids(api, call_ids=[w.c2, w.c3]) == [w.c3, w.c2]
    assert await ids(api, to_phone_number="06 12 34 56 78") == [w.c2]  # normalised
    assert await ids(api, to_phone_number=PHONE) == [w.c4, w.c1]
    assert await ids(api, to_phone_number="nonsense") == []
    assert await ids(api, assistant_ids=[w.a["id"]], statuses=["scheduled"]) == [w.c2]
    # Empty lists filter nothing, as the SDK sends every list.
    lists = ("assignee_ids", "assistant_ids", "campaign_ids", "directions")
    lists += ("from_phone_numbers", "outcomes", "results", "statuses")
    empty: dict[str, Any] = {name: [] for name in lists}
    assert await ids(api, **empty, page=0, page_size=10) == [w.c4, w.c3, w.c2, w.c1]


async def test_free_text_query(api: Api, world: World) -> None:
    w = world
    assert await ids(api, query="GOLD") == [w.c1]  # metadata, case-insensitive
    assert await ids(api, query="grace") == [w.c2]  # prompt variables
    assert await ids(api, query="demo") == [w.c1]  # outcome summary
    assert await ids(api, query="5552672") == [w.c3]  # part of a number
    assert await ids(api, query="06 12 34 56 78") == [w.c2]  # a national number
    assert await ids(api, query=w.c3[:8]) == [w.c3]  # an id
    assert await ids(api, query='says "hi"') == [w.c2]  # quotes inside JSON text
    assert await ids(api, query="then é") == [w.c2]  # non-ASCII inside JSON text
    assert await ids(api, query="100%") == []  # LIKE wildcards are literal
    assert await ids(api, query="___") == []


async def test_paging_and_total_count(api: Api, world: World) -> None:
    w = world
    first = await search(api, page=0, page_size=3)
    assert [c["id"] for c in first["calls"]] == [w.c4, w.c3, w.c2]
    assert first["total_count"] == 4
    second = await search(api, page=1, page_size=3)
    assert [c["id"] for c in second["calls"]] == [w.c1] and second["total_count"] == 4
    beyond = await search(api, page=9, page_size=3)
    assert beyond == {"calls": [], "total_count": 4}
    filtered = await search(api, assistant_ids=[w.a["id"]], page=0, page_size=1)
    assert filtered["total_count"] == 2 and len(filtered["calls"]) == 1


async def test_sorting(api: Api, world: World) -> None:
    w = world
    assert await ids(api, sort_direction="asc") == [w.c1, w.c2, w.c3, w.c4]
    by_number = await ids(api, sort_by="to_phone_number", sort_direction="asc")
    assert by_number == [w.c1, w.c4, w.c3, w.c2]  # ties: oldest first when ascending
    assert await ids(api, sort_by="to_phone_number") == [w.c2, w.c3, w.c4, w.c1]
    # Calls without an outcome come last in both directions.
    assert await ids(api, sort_by="outcome", sort_direction="asc") == [w.c1, w.c3, w.c2, w.c4]
    assert await ids(api, sort_by="outcome", sort_direction="desc") == [w.c3, w.c1, w.c4, w.c2]
    assert (await ids(api, sort_by="calls_count"))[:2] == [w.c1, w.c3]


async def test_search_returns_full_calls(api: Api, world: World) -> None:
    found = (await search(api, call_ids=[world.c1]))["calls"][0]
    assert found == (await api.client.get(f"/call/{world.c1}")).json()["call"]
    assert found["assignee"]["id"] == world.user_id
    assert found["campaign"] == {"id": "camp-1", "name": "camp-1"}
    assert found["contact"]["first_name"] == "Ada" and found["contact"]["email"] is None
    assert [a["id"] for a in found["call_attempts"]] == [
        world.attempts["c1-2"],
        world.attempts["c1-1"],
    ]


async def test_bad_search_bodies(api: Api, world: World) -> None:
    cases = [
        ({"sort_by": "colour"}, "sort_by"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 100_000}, "page_size"),
        ({"page": -1}, "page"),
        ({"statuses": ["done"]}, "statuses[0]"),
        ({"results": ["machine"]}, "results[0]"),
        ({"colour": "red"}, "colour"),
    ]
    for body, path in cases:
        error = (await search(api, 400, **body))["error"]
        assert error["fields"][0]["path"] == path, body


async def test_other_organizations_see_none_of_it(api: Api, world: World) -> None:
    response = await api.other.post("/call/search", json={"call_ids": [world.c1]})
    assert response.json() == {"calls": [], "total_count": 0}
    history = (await api.other.get("/calls/phone-history")).json()
    assert history == {"phone_history": {}}
    assert (await api.other.get("/call")).json() == {"calls": []}


# ---- export ----


async def export(
    api: Api, accept: str | None = None, **body: Any
) -> tuple[str, list[dict[str, str]]]:
    headers = {"accept": accept} if accept else {}
    response = await api.client.post("/call/export", json=body, headers=headers)
    assert response.status_code == 200, response.text
    if accept == "text/csv":
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        text = response.text
    else:
        data = response.json()
        assert set(data) == {"csv", "filename"}
        assert data["filename"].startswith("calls-") and data["filename"].endswith(".csv")
        text = data["csv"]
    return text, list(csv.DictReader(io.StringIO(text)))


async def test_export_has_one_row_per_attempt(api: Api, world: World) -> None:
    text, rows = await export(api, filters={})
    header = text.splitlines()[0].split(",")
    assert header == list(call_export.COLUMNS)
    assert [(r["call_id"], r["attempt_number"]) for r in rows] == [
        (world.c4, ""),
        (world.c3, "1"),
        (world.c2, ""),
        (world.c1, "1"),
        (world.c1, "2"),
    ]
    talked = rows[4]
    assert talked["attempt_id"] == world.attempts["c1-2"]
    assert talked["call_status"] == "completed" and talked["attempt_status"] == "completed"
    assert talked["assistant_name"] == "Alpha" and talked["assistant_id"] == world.a["id"]
    assert talked["result"] == "human" and talked["outcome"] == "interested"
    assert talked["duration_secs"] == "60.0"
    assert talked["transcript"] == "assistant: Hello Ada\nuser: Hi, yes"
    assert talked["first_name"] == "Ada" and talked["company"] == "Acme"
    assert talked["campaign_id"] == "camp-1"
    assert talked["answered_at"].endswith("Z")
    assert rows[1]["dial_error"] == "busy" and rows[1]["direction"] == "inbound"
    assert rows[0]["assistant_name"] == "Inline assistant" and rows[0]["assistant_id"] == ""


async def test_export_filters_and_extra_columns(api: Api, world: World) -> None:
    text, rows = await export(
        api,
        filters={"assistant_ids": [world.a["id"]], "page": 0, "page_size": 1},  # no paging
        include_metadata=True,
        include_structured_output_fields=True,
    )
    header = text.splitlines()[0].split(",")
    extra = header[len(call_export.COLUMNS) :]
    assert extra == [
        "metadata.crm_id",
        "metadata.note",
        "metadata.tier",
        "structured_output.budget",  # from the assistant's structured_output_config
        "structured_output.email",
    ]
    assert [r["call_id"] for r in rows] == [world.c2, world.c1, world.c1]
    assert rows[0]["metadata.note"] == 'says "hi",\nthen é'
    assert rows[2]["metadata.tier"] == "gold"
    assert rows[2]["structured_output.email"] == "ada@example.com"
    assert rows[2]["structured_output.budget"] == "1200"
    assert rows[1]["structured_output.email"] == ""
    _, completed = await export(api, filters={"statuses": ["completed"]})
    assert {r["call_id"] for r in completed} == {world.c1}


async def test_export_as_a_bare_csv_file(api: Api, world: World) -> None:
    json_text, _ = await export(api, filters={}, include_metadata=True)
    bare_text, _ = await export(api, "text/csv", filters={}, include_metadata=True)
    assert bare_text == json_text


async def test_export_streams_in_chunks(
    api: Api, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, _ = await export(api, filters={}, include_metadata=True)
    monkeypatch.setattr(call_export, "CHUNK_CHARS", 40)
    chunked, rows = await export(api, filters={}, include_metadata=True)
    assert chunked == whole and len(rows) == 5


async def test_export_streams_more_rows_than_one_batch(api: Api) -> None:
    assistant = await create_assistant(api, prompt="Hi.")
    first = await place(api, assistant_id=assistant["id"])
    async with api.db.read() as session:
        template = await session.get(Call, first["id"])
    assert template is not None
    total = repo.STREAM_BATCH * 2 + 7
    now = utcnow()
    copies = [
        Call(
            id=new_id(),
            organization_id=template.organization_id,
            assistant_id=assistant["id"],
            assistant_snapshot=template.assistant_snapshot,
            prompt_variables={},
            metadata_={"n": str(n)},
            to_phone_number=PHONE,
            status="scheduled",
            scheduled_at=now,
            next_attempt_at=now,
            created_at=now + timedelta(microseconds=n),
            updated_at=now,
        )
        for n in range(total - 1)
    ]
    async with api.db.write() as session:
        session.add_all(copies)
    _, exported = await export(api, filters={}, include_metadata=True)
    assert len(exported) == total
    assert len({r["call_id"] for r in exported}) == total
    assert {r["metadata.n"] for r in exported} == {str(n) for n in range(total - 1)} | {""}


async def test_export_needs_filters(api: Api) -> None:
    response = await api.client.post("/call/export", json={})
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["path"] == "filters"


# ---- phone history ----


async def test_phone_history(api: Api, world: World) -> None:
    history = (await api.client.get("/calls/phone-history")).json()["phone_history"]
    assert set(history) == {PHONE, OTHER_PHONE, FRENCH_PHONE}
    twice = history[PHONE]  # c1 (interested, reached a human) and c4 (no outcome)
    assert twice["count"] == 2
    assert twice["last_outcome"] == "interested"
    assert twice["hot"] is True and twice["reached_human"] is True
    assert twice["do_not_contact"] is False
    assert twice["campaigns"] == [{"id": "camp-1", "name": "camp-1"}]
    assert twice["last_called_at"].endswith("Z")
    busy = history[OTHER_PHONE]
    assert busy["count"] == 1 and busy["last_outcome"] == "not_interested"
    assert busy["hot"] is False and busy["reached_human"] is False
    assert busy["do_not_contact"] is True
    assert busy["last_called_at"] < twice["last_called_at"]
    assert history[FRENCH_PHONE] == {
        "count": 1,
        "last_called_at": None,
        "last_outcome": None,
        "campaigns": [],
        "reached_human": False,
        "hot": False,
        "do_not_contact": False,
    }


async def test_the_newest_outcome_decides_hot(api: Api, world: World) -> None:
    await set_call(api, world.c4, outcome="not_interested")  # c4 is newer than c1
    history = (await api.client.get("/calls/phone-history")).json()["phone_history"]
    assert history[PHONE]["last_outcome"] == "not_interested"
    assert history[PHONE]["hot"] is False
    assert history[PHONE]["reached_human"] is True  # c1 did reach a human


# ---- SDK 0.1.1 GET /call ----


async def test_legacy_list(api: Api, world: World) -> None:
    listed = (await api.client.get("/call", params={"page": 0, "page_size": 10})).json()["calls"]
    assert [c["id"] for c in listed] == [world.c4, world.c3, world.c2, world.c1]
    latest = listed[3]  # c1, as its latest attempt
    assert latest["status"] == "completed" and latest["result"] == "human"
    assert latest["transcript"][0] == {"role": "assistant", "content": "Hello Ada"}
    assert latest["structured_output"] == {"email": "ada@example.com", "budget": 1200}
    waiting = listed[2]  # c2 has not dialled
    assert waiting["status"] == "queued" and waiting["phone_number"] == FRENCH_PHONE
    assert waiting["started_at"] is None
    page = (await api.client.get("/call", params={"page": 1, "page_size": 3})).json()
    assert [c["id"] for c in page["calls"]] == [world.c1]
    by_status = await api.client.get(
        "/call", params={"page": 0, "page_size": 10, "statuses": "completed,cancelled"}
    )
    assert [c["id"] for c in by_status.json()["calls"]] == [world.c4, world.c1]


async def test_legacy_list_status_filter_matches_what_sdk_0_1_1_sees(
    api: Api, world: World
) -> None:
    await api.client.post(f"/call/{world.c2}/pause")
    headers = {"X-Stainless-Package-Version": "0.1.1"}
    scheduled = await api.client.get(
        "/call", params={"page": 0, "page_size": 10, "statuses": "scheduled"}, headers=headers
    )
    assert [c["id"] for c in scheduled.json()["calls"]] == [world.c2]  # paused reads scheduled
    repeated = await api.client.get(
        "/call?page=0&page_size=10&statuses=errored&statuses=completed", headers=headers
    )
    assert [c["id"] for c in repeated.json()["calls"]] == [world.c3, world.c1]
    bad = await api.client.get("/call", params={"page": 0, "page_size": 10, "statuses": "done"})
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"][0]["path"] == "statuses"
    too_big = await api.client.get("/call", params={"page": 0, "page_size": 100_000})
    assert too_big.status_code == 400
