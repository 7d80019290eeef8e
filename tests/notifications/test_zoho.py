"""Zoho CRM over real HTTP against the fake Zoho: token refresh and caching, upsert,
field mapping, notes, call logs, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from openrevox.notifications.variables import call_variables
from openrevox.notifications.zoho import ZohoTokens, sync_to_zoho, zoho_applies, zoho_record
from openrevox.testing.fake_zoho import FakeZoho, ZohoFailure
from openrevox.testing.server import free_port

PHONE = "+14155550100"


@pytest.fixture
def zoho() -> Iterator[FakeZoho]:
    with FakeZoho() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wire_call(**overrides: Any) -> dict[str, Any]:
    attempt = {
        "id": "att_1",
        "phone_number": PHONE,
        "started_at": "2026-03-01T10:00:00Z",
        "answered_at": "2026-03-01T10:00:04.250000Z",
        "ended_at": "2026-03-01T10:02:19Z",
        "transcript": [
            {"role": "assistant", "content": "Hello, Ava from Acme."},
            {"role": "user", "content": "Hi."},
        ],
        "structured_output": {"budget": 1500, "plan": "pro", "timeline": None},
    }
    call: dict[str, Any] = {
        "id": "call_1",
        "direction": "outbound",
        "to_phone_number": PHONE,
        "from_phone_number": "+15005550006",
        "outcome": "interested",
        "outcome_summary": "Wants a demo.",
        "prompt_variables": {"region": "EMEA", "plan": "basic", "timeline": "Q3"},
        "contact": {
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "jane@acme.test",
            "company": "Acme",
            "job_title": "CTO",
        },
        "call_attempts": [attempt],
        "last_call_attempt": attempt,
    }
    call.update(overrides)
    return call


def config(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "connection_id": "zoho-main",
        "module": "Leads",
        "outcomes": ["interested", "none"],
        "field_mapping": [
            {"source": "budget", "zoho_field": "Budget__c"},
            {"source": "plan", "zoho_field": "Plan__c"},
            {"source": "region", "zoho_field": "Region__c"},
            {"source": "timeline", "zoho_field": "Timeline__c"},
            {"source": "absent", "zoho_field": "Absent__c"},
        ],
        "log_call_activity": False,
        "template": None,
    }
    value.update(overrides)
    return value


def variables(call: dict[str, Any]) -> dict[str, str]:
    return call_variables(
        call=call, assistant_name="Ava", campaign_name="Spring", call_url="https://app.test/c/1"
    )


async def sync(
    http: httpx.AsyncClient, zoho: FakeZoho, tokens: ZohoTokens, **overrides: Any
) -> Any:
    call = overrides.pop("call", None) or wire_call()
    return await sync_to_zoho(
        http,
        overrides.pop("connection", None) or zoho.connection(),
        overrides.pop("config", None) or config(),
        variables=variables(call),
        call=call,
        tokens=tokens,
        **overrides,
    )


async def test_upserts_the_lead_with_mapping_and_adds_the_note(
    zoho: FakeZoho, http: httpx.AsyncClient
) -> None:
    attempt = await sync(http, zoho, ZohoTokens())
    assert attempt.ok, attempt.error
    record_id = attempt.details["record_id"]
    assert attempt.details == {
        "module": "Leads",
        "record_id": record_id,
        "action": "insert",
        "note_id": zoho.notes[0]["id"],
    }
    # the token request, as Zoho expects it: a POST with the refresh grant in the query
    [token_request] = zoho.token_requests
    assert token_request.path == "/oauth/v2/token"
    assert token_request.query == {
        "grant_type": "refresh_token",
        "client_id": zoho.client_id,
        "client_secret": zoho.client_secret,
        "refresh_token": zoho.refresh_token,
    }
    upsert, note = zoho.requests
    assert upsert.path == "/crm/v2/Leads/upsert"
    assert upsert.headers["authorization"] == f"Zoho-oauthtoken {zoho.issued[0]}"
    assert upsert.body["duplicate_check_fields"] == ["Phone"]
    assert upsert.body["data"] == [
        {
            "Phone": PHONE,
            "Last_Name": "Doe",
            "First_Name": "Jane",
            "Email": "jane@acme.test",
            "Title": "CTO",
            "Company": "Acme",
            "Budget__c": 1500,  # structured output, as its own type
            "Plan__c": "pro",  # structured output wins over the prompt variable
            "Region__c": "EMEA",  # prompt variable
            "Timeline__c": "Q3",  # null structured output falls back to the prompt variable
        }
    ]
    assert zoho.records["Leads"][record_id]["Budget__c"] == 1500
    assert note.path == f"/crm/v2/Leads/{record_id}/Notes"
    assert zoho.notes[0]["Note_Title"] == "Call with Ava: interested"
    assert zoho.notes[0]["Note_Content"] == (
        "Outcome: interested\n\nWants a demo.\n\nExtracted fields:\n- budget: 1500\n"
        "- plan: pro\n\nhttps://app.test/c/1"
    )
    assert zoho.calls == []


async def test_a_second_call_updates_the_same_record(
    zoho: FakeZoho, http: httpx.AsyncClient
) -> None:
    tokens = ZohoTokens()
    first = await sync(http, zoho, tokens)
    second = await sync(http, zoho, tokens, call=wire_call(outcome="completed"))
    assert second.ok
    assert second.details["record_id"] == first.details["record_id"]
    assert second.details["action"] == "update"
    assert len(zoho.records["Leads"]) == 1 and len(zoho.notes) == 2
    assert zoho.notes[1]["Note_Title"] == "Call with Ava: completed"


async def test_token_is_cached_until_it_nearly_expires(
    zoho: FakeZoho, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    tokens = ZohoTokens(clock=clock, margin_secs=60)
    zoho.expires_in = 600
    assert (await sync(http, zoho, tokens)).ok
    clock.now += 500
    assert (await sync(http, zoho, tokens)).ok
    assert len(zoho.token_requests) == 1 and tokens.refreshes == 1
    clock.now += 50  # 550 s: within a minute of expiry
    assert (await sync(http, zoho, tokens)).ok
    assert len(zoho.token_requests) == 2
    used = [r.token for r in zoho.requests]
    assert used == [zoho.issued[0]] * 4 + [zoho.issued[1]] * 2


async def test_tokens_are_per_connection(zoho: FakeZoho, http: httpx.AsyncClient) -> None:
    tokens = ZohoTokens()
    other = FakeZoho(client_id="1000.OTHER", refresh_token="1000.other-refresh").start()
    try:
        assert (await sync(http, zoho, tokens)).ok
        assert (await sync(http, other, tokens, connection=other.connection())).ok
        assert (await sync(http, zoho, tokens)).ok
    finally:
        other.stop()
    assert len(zoho.token_requests) == 1 and len(other.token_requests) == 1


async def test_an_expired_token_is_refreshed_once(zoho: FakeZoho, http: httpx.AsyncClient) -> None:
    tokens = ZohoTokens()
    assert (await sync(http, zoho, tokens)).ok
    zoho.expire_tokens()  # revoked or expired early: Zoho answers 401 INVALID_TOKEN
    attempt = await sync(http, zoho, tokens)
    assert attempt.ok, attempt.error
    assert len(zoho.token_requests) == 2
    assert [r.token for r in zoho.requests[2:]] == [zoho.issued[0], zoho.issued[1], zoho.issued[1]]


@pytest.mark.parametrize(
    ("overrides", "zoho_error"),
    [
        ({"refresh_token": SecretStr("1000.revoked")}, "invalid_code"),
        ({"client_secret": SecretStr("wrong")}, "invalid_client"),
        ({"client_id": "1000.WRONG"}, "invalid_client"),
    ],
)
async def test_bad_credentials_are_not_retried(
    zoho: FakeZoho, http: httpx.AsyncClient, overrides: dict[str, Any], zoho_error: str
) -> None:
    attempt = await sync(http, zoho, ZohoTokens(), connection=zoho.connection(**overrides))
    assert (attempt.ok, attempt.retryable) == (False, False)
    assert attempt.error is not None
    assert zoho_error in attempt.error and "zoho_connections" in attempt.error
    assert zoho.requests == []


async def test_token_endpoint_throttling_is_retried(
    zoho: FakeZoho, http: httpx.AsyncClient
) -> None:
    zoho.token_error = "Access Denied"
    attempt = await sync(http, zoho, ZohoTokens())
    assert (attempt.ok, attempt.retryable) == (False, True)
    assert attempt.error is not None and "Access Denied" in attempt.error


async def test_server_errors_and_network_are_retried(
    zoho: FakeZoho, http: httpx.AsyncClient
) -> None:
    tokens = ZohoTokens()
    zoho.fail_next(ZohoFailure(500), ZohoFailure(503, raw="<html>down</html>"))
    for status in (500, 503):
        attempt = await sync(http, zoho, tokens)
        assert (attempt.ok, attempt.retryable, attempt.status_code) == (False, True, status)
    zoho.fail_next(ZohoFailure(429, "TOO_MANY_REQUESTS", "too many requests"))
    attempt = await sync(http, zoho, tokens)
    assert (attempt.ok, attempt.retryable) == (False, True)
    dead = zoho.connection(accounts_url=f"http://127.0.0.1:{free_port()}")
    attempt = await sync(http, zoho, ZohoTokens(), connection=dead)
    assert (attempt.ok, attempt.retryable, attempt.status_code) == (False, True, None)
    assert attempt.error is not None and "could not be reached" in attempt.error


async def test_refused_data_is_not_retried(zoho: FakeZoho, http: httpx.AsyncClient) -> None:
    attempt = await sync(http, zoho, ZohoTokens(), config=config(module="Prospects"))
    assert (attempt.ok, attempt.retryable, attempt.status_code) == (False, False, 400)
    assert attempt.error is not None and "INVALID_MODULE" in attempt.error


async def test_unknown_name_falls_back_to_the_phone_only_for_a_new_record(
    zoho: FakeZoho, http: httpx.AsyncClient
) -> None:
    tokens = ZohoTokens()
    nameless = wire_call(contact={"first_name": None, "last_name": None})
    assert (await sync(http, zoho, tokens, call=nameless)).ok
    record = zoho.record_by_phone("Leads", PHONE)
    assert record is not None and record["Last_Name"] == PHONE
    assert "First_Name" not in record and "Email" not in record
    # first without a name (refused: MANDATORY_NOT_FOUND), then with the phone
    assert ["Last_Name" in r.body["data"][0] for r in zoho.requests[:2]] == [False, True]

    zoho.records["Leads"][record["id"]]["Last_Name"] = "Doe"  # a salesperson fixed it
    requests_before = len(zoho.requests)
    assert (await sync(http, zoho, tokens, call=nameless)).ok
    assert zoho.records["Leads"][record["id"]]["Last_Name"] == "Doe"  # not overwritten
    assert len(zoho.requests) == requests_before + 2  # one upsert, one note


async def test_template_note_and_call_log_for_contacts(
    zoho: FakeZoho, http: httpx.AsyncClient
) -> None:
    cfg = config(
        module="Contacts",
        log_call_activity=True,
        template="{{outcome}} — {{contact_name}} ({{budget}}){{nothing}}\n{{transcript}}",
        field_mapping=[],
    )
    attempt = await sync(http, zoho, ZohoTokens(), config=cfg)
    assert attempt.ok, attempt.error
    record_id = attempt.details["record_id"]
    assert attempt.details["call_log_id"] == zoho.calls[0]["id"]
    upsert = zoho.requests[0].body["data"][0]
    assert "Company" not in upsert  # not a Contacts field
    assert zoho.notes[0]["Note_Content"] == (
        "interested — Jane Doe (1500)\nAgent: Hello, Ava from Acme.\nCaller: Hi."
    )
    assert zoho.requests[2].path == "/crm/v2/Calls"
    log = {k: v for k, v in zoho.calls[0].items() if k != "id"}
    assert log == {
        "Subject": f"Outbound call: {PHONE}",
        "Call_Type": "Outbound",
        "Call_Start_Time": "2026-03-01T10:00:04+00:00",
        "Call_Duration": "02:14",
        "Description": "Outcome: interested\nWants a demo.",
        "Who_Id": {"id": record_id},
    }


async def test_call_log_on_leads_uses_what_id(zoho: FakeZoho, http: httpx.AsyncClient) -> None:
    attempt = await sync(http, zoho, ZohoTokens(), config=config(log_call_activity=True))
    assert attempt.ok
    log = zoho.calls[0]
    assert log["What_Id"] == {"id": attempt.details["record_id"]}
    assert log["$se_module"] == "Leads" and "Who_Id" not in log


async def test_resume_does_not_duplicate_the_note(zoho: FakeZoho, http: httpx.AsyncClient) -> None:
    tokens = ZohoTokens()
    cfg = config(log_call_activity=True)
    zoho.fail_on("/Calls", ZohoFailure(502, "BAD_GATEWAY", "bad gateway"))
    failing = await sync(http, zoho, tokens, config=cfg)
    assert (failing.ok, failing.retryable, failing.status_code) == (False, True, 502)
    assert failing.details["note_id"] == zoho.notes[0]["id"]
    assert failing.details["record_id"]
    assert "call_log_id" not in failing.details
    retried = await sync(http, zoho, tokens, config=cfg, resume=failing.details)
    assert retried.ok
    assert len(zoho.notes) == 1 and len(zoho.calls) == 1
    assert retried.details["note_id"] == failing.details["note_id"]
    assert retried.details["call_log_id"] == zoho.calls[0]["id"]
    assert [r.path.rsplit("/", 1)[-1] for r in zoho.requests] == [
        "upsert",
        "Notes",
        "Calls",
        "upsert",
        "Calls",
    ]


def test_applies_by_outcome() -> None:
    assert zoho_applies(config(), {"outcome": "interested"})
    assert zoho_applies(config(), {"outcome": None})
    assert not zoho_applies(config(), {"outcome": "completed"})
    assert not zoho_applies(None, {"outcome": "interested"})


def test_record_for_a_custom_module_has_only_phone_and_mapping() -> None:
    record = zoho_record(
        {"module": "Deals", "field_mapping": [{"source": "plan", "zoho_field": "Plan"}]},
        wire_call(),
    )
    assert record == {"Phone": PHONE, "Plan": "pro"}
