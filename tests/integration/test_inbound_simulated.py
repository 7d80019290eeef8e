"""Inbound calls on the simulated network, on every backend: a scripted caller rings an
owned number, the precall lookup (a real HTTP server on loopback) fills the assistant's
variables, the agent talks, and the order goes through post_processing to completed
like an outbound one; failures of the lookup error the call."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from openrevox.config import Settings
from openrevox.jobs import JobRunner
from openrevox.postcall.kinds import post_call_kinds
from openrevox.services.inbound_simulated import simulate_inbound_call
from openrevox.storage.models import Call, CallAttempt
from openrevox.storage.repositories import jobs as job_repo
from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, Reply, answer_json, say
from tests.integration.conftest import Api

OUR_NUMBER = "+14155550100"
CALLER = "+33612345678"
ANALYSIS = {
    "summary": "Ann from Globex wants to book a demo.",
    "outcome": "interested",
    "outcome_summary": "Booking a demo.",
    "structured_output": {},
    "contact": {"first_name": "Ann"},
}


class Lookup:
    """The organization's CRM on loopback: answers ``GET /lookup?phone=...``."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.status = 200
        self.body: Any = {"prompt_variables": {"first_name": "Ann", "company": "Globex"}}
        self.delay = 0.0
        lookup = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                lookup.paths.append(self.path)
                time.sleep(lookup.delay)
                raw = json.dumps(lookup.body).encode()
                self.send_response(lookup.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/lookup?phone={{{{phone}}}}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def lookup() -> Iterator[Lookup]:
    server = Lookup()
    try:
        yield server
    finally:
        server.close()


def agent(request: FakeRequest) -> Reply:
    """The agent's LLM, and the after-call analysis (JSON mode)."""
    return answer_json(ANALYSIS) if request.response_format else say("Of course, Ann.")


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(handler=agent) as fake:
        yield fake


def settings_for(database_url: str, llm: FakeOpenAI, **overrides: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        openai_base_url=llm.base_url,
        openai_api_key="test-key",
        llm_max_retries=0,
        user_inactivity_timeout_secs=0,
        jobs_poll_interval_secs=0.02,
        **overrides,
    )


async def inbound_assistant(api: Api, lookup_url: str | None) -> dict[str, Any]:
    body = {
        "name": "Reception",
        "prompt": "You are Ava at Acme. The caller is {{first_name}} from {{company}}.",
        "first_sentence_mode": "static",
        "first_sentence": "Acme, hello {{first_name}}!",
        "first_sentence_delay_ms": 0,
        "precall_lookup_url": lookup_url,
    }
    response = await api.client.post("/assistants", json=body)
    assert response.status_code == 201, response.text
    assistant: dict[str, Any] = response.json()["assistant"]
    added = await api.client.post(
        "/phone-numbers",
        json={
            "phone_number": OUR_NUMBER,
            "provider": "twilio",
            "inbound_assistant_id": assistant["id"],
        },
    )
    assert added.status_code == 201, added.text
    return assistant


async def wire_call(api: Api, call_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/call/{call_id}")
    assert response.status_code == 200, response.text
    call: dict[str, Any] = response.json()["call"]
    return call


async def test_an_inbound_call_is_answered_recorded_and_completed(
    api: Api, database_url: str, lookup: Lookup, llm: FakeOpenAI
) -> None:
    assistant = await inbound_assistant(api, lookup.url)
    settings = settings_for(database_url, llm)
    answer = await simulate_inbound_call(
        api.db,
        settings,
        to_number="+1 415 555 0100",
        from_number=CALLER,
        script=["Hi, I would like to book a demo.", "Goodbye!"],
    )
    assert answer.kind == "accepted", answer.reason
    assert answer.call_id is not None
    # The lookup got the caller's number, URL-encoded, before the call was answered.
    assert lookup.paths == ["/lookup?phone=%2B33612345678"]
    call = await wire_call(api, answer.call_id)
    assert call["direction"] == "inbound"
    assert call["status"] == "post_processing"
    assert call["to_phone_number"] == OUR_NUMBER and call["from_phone_number"] == CALLER
    assert call["prompt_variables"] == {"first_name": "Ann", "company": "Globex"}
    assert call["assistant"]["id"] == assistant["id"]
    assert call["calls_count"] == 1
    [attempt] = call["call_attempts"]
    assert attempt["status"] == "completed" and attempt["result"] == "human"
    said = [(t["role"], t["content"]) for t in attempt["transcript"]]
    assert said[0] == ("assistant", "Acme, hello Ann!")  # the lookup's variables
    assert ("user", "Hi, I would like to book a demo.") in said
    assert ("assistant", "Of course, Ann.") in said
    # The agent's prompt had the variables too.
    assert "The caller is Ann from Globex." in llm.requests[0].system_prompt
    # Searchable as inbound.
    found = await api.client.post("/call/search", json={"directions": ["inbound"]})
    assert [c["id"] for c in found.json()["calls"]] == [answer.call_id]

    # The after-call job completes it, exactly as an outbound order.
    runner = JobRunner(api.db, settings, post_call_kinds(), worker_id="inbound-test")
    task = asyncio.create_task(runner.run())
    try:
        for _ in range(400):
            async with api.db.read() as session:
                row = await session.get(Call, answer.call_id)
                assert row is not None
                if row.status == "completed":
                    break
            await asyncio.sleep(0.05)
    finally:
        runner.stop()
        await task
    done = await wire_call(api, answer.call_id)
    assert done["status"] == "completed"
    assert done["outcome"] == "interested"


@pytest.mark.parametrize(
    ("status", "body", "delay", "reason"),
    [
        pytest.param(500, {"error": "down"}, 0.0, "HTTP 500", id="http-error"),
        pytest.param(200, {"variables": {}}, 0.0, '"prompt_variables"', id="bad-shape"),
        pytest.param(
            200, {"prompt_variables": {"first_name": "Ann"}}, 0.0, "company", id="missing"
        ),
        pytest.param(200, {"prompt_variables": {}}, 1.0, "no answer within", id="timeout"),
    ],
)
async def test_a_failed_lookup_errors_the_call(
    api: Api,
    database_url: str,
    lookup: Lookup,
    llm: FakeOpenAI,
    status: int,
    body: Any,
    delay: float,
    reason: str,
) -> None:
    await inbound_assistant(api, lookup.url)
    lookup.status, lookup.body, lookup.delay = status, body, delay
    settings = settings_for(database_url, llm, precall_lookup_timeout_secs=0.3)
    answer = await simulate_inbound_call(api.db, settings, to_number=OUR_NUMBER, from_number=CALLER)
    assert answer.kind == "errored" and reason in answer.reason
    assert answer.call_id is not None
    call = await wire_call(api, answer.call_id)
    assert call["direction"] == "inbound" and call["status"] == "errored"
    [attempt] = call["call_attempts"]
    assert attempt["status"] == "error" and attempt["transcript"] in (None, [])
    assert llm.requests == []  # nobody talked
    async with api.db.read() as session:
        assert await job_repo.list_jobs(session, call_id=answer.call_id) == []


async def test_unrouted_numbers_are_rejected_and_nothing_is_recorded(
    api: Api, database_url: str, llm: FakeOpenAI
) -> None:
    settings = settings_for(database_url, llm)
    # Not a number of anyone; then owned but with no inbound assistant.
    for number in ("+14155550100", "not a number"):
        answer = await simulate_inbound_call(api.db, settings, to_number=number, from_number=CALLER)
        assert answer.kind == "rejected" and answer.call_id is None
    await api.client.post("/phone-numbers", json={"phone_number": OUR_NUMBER, "provider": "twilio"})
    answer = await simulate_inbound_call(api.db, settings, to_number=OUR_NUMBER, from_number=CALLER)
    assert answer.kind == "rejected"
    found = await api.client.post("/call/search", json={})
    assert found.json()["calls"] == []


async def test_without_a_lookup_an_assistant_without_variables_answers(
    api: Api, database_url: str, llm: FakeOpenAI
) -> None:
    response = await api.client.post(
        "/assistants",
        json={"name": "Plain", "prompt": "You are Ava.", "first_sentence_delay_ms": 0},
    )
    plain = response.json()["assistant"]
    await api.client.post(
        "/phone-numbers",
        json={"phone_number": OUR_NUMBER, "provider": "sip", "inbound_assistant_id": plain["id"]},
    )
    answer = await simulate_inbound_call(
        api.db,
        settings_for(database_url, llm),
        to_number=OUR_NUMBER,
        from_number="anonymous",
        script=["Hello?"],
    )
    assert answer.kind == "accepted"
    assert answer.call_id is not None
    call = await wire_call(api, answer.call_id)
    assert call["status"] == "post_processing" and call["from_phone_number"] == "anonymous"


async def test_a_call_back_from_a_campaign_contact_counts_in_its_campaign(
    api: Api, database_url: str, lookup: Lookup, llm: FakeOpenAI
) -> None:
    await inbound_assistant(api, lookup.url)
    outbound = await api.client.post(
        "/assistants",
        json={
            "name": "Outreach",
            "prompt": "You call {{first_name}}.",
            "first_sentence_mode": "none",
        },
    )
    assert outbound.status_code == 201, outbound.text
    created = await api.client.post(
        "/campaigns",
        json={
            "name": "Spring",
            "assistant_id": outbound.json()["assistant"]["id"],
            "contacts": [{"to_phone_number": CALLER, "prompt_variables": {"first_name": "Ann"}}],
        },
    )
    assert created.status_code == 201, created.text
    campaign = created.json()["campaign"]
    answer = await simulate_inbound_call(
        api.db,
        settings_for(database_url, llm),
        to_number=OUR_NUMBER,
        from_number=CALLER,
        script=["You called me earlier?", "Goodbye!"],
    )
    assert answer.kind == "accepted" and answer.call_id is not None, answer.reason
    call = await wire_call(api, answer.call_id)
    assert call["campaign"] is not None and call["campaign"]["id"] == campaign["id"]
    stats = await api.client.get(f"/campaigns/{campaign['id']}/statistics")
    assert stats.status_code == 200, stats.text
    assert stats.json()["statistics"]["inbound"]["unique_callers"] == 1

    # A caller no campaign called is no campaign's.
    stranger = await simulate_inbound_call(
        api.db,
        settings_for(database_url, llm),
        to_number=OUR_NUMBER,
        from_number="+33698765432",
        script=["Hello?", "Goodbye!"],
    )
    assert stranger.call_id is not None
    assert (await wire_call(api, stranger.call_id))["campaign"] is None


async def test_an_answered_call_whose_stream_never_connects_ends_in_error(
    api: Api, database_url: str, lookup: Lookup, llm: FakeOpenAI
) -> None:
    from openrevox.services.inbound import STREAM_NEVER_CONNECTED, answer_call

    await inbound_assistant(api, lookup.url)
    settings = settings_for(database_url, llm, inbound_stream_wait_secs=0.3)
    answer = await answer_call(
        api.db,
        settings,
        to_number=OUR_NUMBER,
        from_number=CALLER,
        provider="twilio",
        provider_call_id="CA" + "7" * 32,
    )
    assert answer.kind == "accepted" and answer.call_id is not None, answer.reason
    assert (await wire_call(api, answer.call_id))["status"] == "calling"
    runner = JobRunner(api.db, settings, post_call_kinds(), worker_id="watch-test")
    task = asyncio.create_task(runner.run())
    try:
        for _ in range(200):
            if (await wire_call(api, answer.call_id))["status"] == "completed":
                break
            await asyncio.sleep(0.05)
    finally:
        runner.stop()
        await task
    call = await wire_call(api, answer.call_id)
    assert call["status"] == "completed"
    [attempt] = call["call_attempts"]
    assert attempt["status"] == "error" and attempt["result"] == "unknown"
    async with api.db.read() as session:
        [watch] = await job_repo.list_jobs(
            session, call_id=answer.call_id, kinds=["watch_inbound_stream"]
        )
        row = await session.get(CallAttempt, answer.attempt_id)
    assert watch.status == "succeeded" and watch.result == {"ended": True}
    assert row is not None and row.engine is not None
    assert row.engine["error"] == STREAM_NEVER_CONNECTED
