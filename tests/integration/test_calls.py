"""The calls API on every backend: placing calls, snapshots, variables, numbers, actions,
and what assistant updates and deletions do to the calls that use them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from openrevox.storage.models import Call, CallAttempt, new_id, utcnow
from tests.integration.conftest import Api, own_numbers

PHONE = "+14155552671"
WEEK = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# Calling is allowed at every instant: a call placed now is due now.
ALWAYS = {
    "allowed_days": WEEK,
    "call_twice_in_a_row": False,
    "calling_windows": [
        {
            "calling_window_start_time": "00:00",
            "calling_window_end_time": "24:00",
            "retry_delay_seconds": 60,
        }
    ],
    "max_retry_attempts": 3,
}
# Mondays 09:00-17:00 in Paris.
MONDAY_PARIS = {
    "allowed_days": ["monday"],
    "call_twice_in_a_row": False,
    "calling_windows": [
        {
            "calling_window_start_time": "09:00",
            "calling_window_end_time": "17:00",
            "retry_delay_seconds": 600,
        }
    ],
    "max_retry_attempts": 2,
    "timezone": "Europe/Paris",
}
SUNDAY_NOON = "2030-01-06T12:00:00Z"  # a Sunday; the next Monday 09:00 Paris is 08:00 UTC
MONDAY_NINE_PARIS = "2030-01-07T08:00:00Z"


async def create_assistant(api: Api, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Sales",
        "prompt": "You call {{first_name}} about {{company}}.",
        "call_retry_config": ALWAYS,
        **fields,
    }
    response = await api.client.post("/assistants", json=body)
    assert response.status_code == 201, response.text
    assistant: dict[str, Any] = response.json()["assistant"]
    return assistant


VARIABLES = {"first_name": "Ada", "company": "Acme"}


async def place(api: Api, status: int = 201, **fields: Any) -> dict[str, Any]:
    response = await api.client.post("/call", json={"phone_number": PHONE, **fields})
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body["call"] if status == 201 else body


async def stored(api: Api, call_id: str) -> Call:
    async with api.db.read() as session:
        call = await session.get(Call, call_id)
    assert call is not None
    return call


async def set_call(api: Api, call_id: str, **values: Any) -> None:
    async with api.db.write() as session:
        await session.execute(update(Call).where(Call.id == call_id).values(**values))


async def add_attempt(api: Api, call_id: str, number: int, **values: Any) -> str:
    now = utcnow()
    attempt = CallAttempt(
        id=new_id(),
        call_id=call_id,
        attempt_number=number,
        phone_number=values.pop("phone_number", PHONE),
        started_at=values.pop("started_at", now),
        created_at=now,
        updated_at=now,
        **values,
    )
    async with api.db.write() as session:
        session.add(attempt)
    return attempt.id


async def count_calls(api: Api) -> int:
    async with api.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Call)) or 0)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---- create ----


async def test_create_with_assistant_id_snapshots_the_assistant(api: Api) -> None:
    await own_numbers(api.client, "+14155550000", "+14155550001", "+14155550002")
    assistant = await create_assistant(api, from_phone_number="+14155550000")
    call = await place(
        api,
        assistant_id=assistant["id"],
        prompt_variables=VARIABLES,
        metadata={"crm_id": "42"},
        concurrency={"key": "sales-team"},
    )
    assert call["status"] == "queued_for_calling"  # due now: every instant is allowed
    assert call["to_phone_number"] == PHONE
    assert call["from_phone_number"] == "+14155550000"  # the assistant's number
    assert call["direction"] == "outbound"
    assert call["prompt_variables"] == VARIABLES
    assert call["metadata"] == {"crm_id": "42"}
    assert call["call_attempts"] == [] and call["last_call_attempt"] is None
    assert call["calls_count"] == 0
    assert call["is_cancelled"] is False and call["is_completed"] is False
    assert call["contact"] == dict.fromkeys(
        ("company", "email", "first_name", "job_title", "last_name")
    )
    # The snapshot is the assistant's wire form; the call's copies of its fields agree.
    snapshot = {k: v for k, v in call["assistant"].items()}
    assert snapshot == assistant
    assert call["llm_model"] == assistant["llm_model"]
    assert call["call_retry_config"] == assistant["call_retry_config"]
    assert call["first_sentence_delay_ms"] == 400
    row = await stored(api, call["id"])
    assert row.assistant_id == assistant["id"]
    assert row.from_phone_number is None  # not asked for: the assistant's number applies
    assert row.concurrency_key == "sales-team"
    assert row.next_attempt_at is not None and row.next_attempt_at <= utcnow()
    assert row.claimed_by is None and row.lease_expires_at is None
    retrieved = (await api.client.get(f"/call/{call['id']}")).json()
    assert retrieved == {"call": call}
    # A pending call follows its assistant's number; a number asked for on the call stays.
    own = await place(
        api,
        assistant_id=assistant["id"],
        prompt_variables=VARIABLES,
        from_phone_number="+14155550001",
    )
    await api.client.patch(
        f"/assistants/{assistant['id']}", json={"from_phone_number": "+14155550002"}
    )
    followed = (await api.client.get(f"/call/{call['id']}")).json()["call"]
    assert followed["from_phone_number"] == "+14155550002"
    kept = (await api.client.get(f"/call/{own['id']}")).json()["call"]
    assert kept["from_phone_number"] == "+14155550001"


async def test_scheduled_calls_wait_for_the_time_and_the_window(api: Api) -> None:
    assistant = await create_assistant(api, call_retry_config=MONDAY_PARIS)
    call = await place(
        api, assistant_id=assistant["id"], prompt_variables=VARIABLES, scheduled_at=SUNDAY_NOON
    )
    assert call["status"] == "scheduled"
    assert at(call["scheduled_at"]) == at(MONDAY_NINE_PARIS)
    row = await stored(api, call["id"])
    assert row.next_attempt_at == at(MONDAY_NINE_PARIS)
    assert row.requested_scheduled_at == at(SUNDAY_NOON)
    # skip_calling_window keeps the time asked for; a naive time is UTC.
    skipped = await place(
        api,
        assistant_id=assistant["id"],
        prompt_variables=VARIABLES,
        scheduled_at="2030-01-06T12:00:00",
        skip_calling_window=True,
    )
    assert at(skipped["scheduled_at"]) == at(SUNDAY_NOON)
    assert skipped["status"] == "scheduled"
    # The legacy force_now (SDK 0.1.1-0.3.0) is skip_calling_window.
    forced = await place(
        api, assistant_id=assistant["id"], prompt_variables=VARIABLES, force_now=True
    )
    assert forced["status"] == "queued_for_calling"
    assert (await stored(api, forced["id"])).skip_calling_window is True


async def test_create_with_an_inline_assistant(api: Api) -> None:
    inline = {
        "prompt": "Remind {{first_name}} of the appointment.",
        "llm_model": {
            "type": "custom",
            "api_key": "sk-live-secret-1234",
            "api_url": "https://llm.example.com/v1",
            "model_name": "llama",
        },
        "call_retry_config": ALWAYS,
        "first_sentence_delay_ms": 900,
        "faq_items": [{"question": "Where?", "answer": "Main street."}],
        "transfer_phone_number": "+14155552672",
    }
    call = await place(api, assistant=inline, prompt_variables={"first_name": "Ada"})
    snapshot = call["assistant"]
    assert snapshot["id"] == f"inline-{call['id']}"
    assert snapshot["name"] == "Inline assistant"
    assert snapshot["prompt"] == inline["prompt"]
    assert snapshot["first_sentence_delay_ms"] == call["first_sentence_delay_ms"] == 900
    assert snapshot["stt_model"] == "stt-rt-v5"  # defaults as for POST /assistants
    assert snapshot["transfer_destinations"] == [
        {"label": "Default", "phone_number": "+14155552672"}
    ]
    assert snapshot["created_by"]["email"] == "owner@acme.test"
    assert [f["question"] for f in snapshot["faq_items"]] == ["Where?"]
    # The key is masked on output and kept in storage for the call.
    assert call["llm_model"]["api_key"] == snapshot["llm_model"]["api_key"] == "****1234"
    row = await stored(api, call["id"])
    assert row.assistant_id is None
    assert row.assistant_snapshot["llm_model"]["api_key"] == "sk-live-secret-1234"
    # An inline assistant is no assistant of the organization.
    assert (await api.client.get(f"/assistants/{snapshot['id']}")).status_code == 404


async def test_inline_assistant_is_validated_like_an_assistant(api: Api) -> None:
    bad = await place(
        api,
        400,
        assistant={"prompt": "p", "voice": {"id": "v", "provider": "cartesia", "speed": 9}},
    )
    assert bad["error"]["fields"][0]["path"] == "assistant.voice.speed"
    static = await place(api, 400, assistant={"prompt": "p", "first_sentence_mode": "static"})
    assert static["error"]["fields"][0]["path"] == "assistant.first_sentence"
    no_prompt = await place(api, 400, assistant={"name": "x"})
    assert no_prompt["error"]["fields"][0]["path"] == "assistant.prompt"
    unknown = await place(api, 400, assistant={"prompt": "p", "colour": "red"})
    assert unknown["error"]["fields"][0] == {
        "path": "assistant.colour",
        "message": "is not a known field",
    }
    assert await count_calls(api) == 0


async def test_one_assistant_is_required(api: Api) -> None:
    neither = await place(api, 400)
    assert neither["error"]["fields"][0]["path"] == "assistant_id"
    assistant = await create_assistant(api)
    both = await place(api, 400, assistant_id=assistant["id"], assistant={"prompt": "p"})
    assert both["error"]["fields"][0]["path"] == "assistant"


async def test_every_variable_the_assistant_uses_must_be_given(api: Api) -> None:
    assistant = await create_assistant(
        api,
        first_sentence="Hello {{first_name}}",
        end_of_call_sentence="Bye from {{agent}}",
        voicemail_message="Call {{callback_number}}",
        sms_enabled=True,
        sms_template="Link: {{link}}",
        custom_tools=[
            {
                "body_template": '{"sku": "{{sku}}", "store": "{{store_id}}"}',
                "description": "Check stock",
                "headers": [{"key": "X-Key", "value": "{{api_key}}"}],
                "input_schema": [{"name": "sku", "required": True, "type": "string"}],
                "method": "POST",
                "name": "check_stock",
                "query_params": [],
                "url": "https://api.example.com/stock",
            }
        ],
    )
    response = await place(
        api, 400, assistant_id=assistant["id"], prompt_variables={"first_name": "Ada"}
    )
    error = response["error"]
    missing = ["agent", "api_key", "callback_number", "company", "link", "store_id"]
    assert [f["path"] for f in error["fields"]] == [f"prompt_variables.{n}" for n in missing]
    assert error["message"].startswith("prompt_variables: missing " + ", ".join(missing))
    assert "sku" not in error["message"]  # the tool's own argument: the LLM fills it
    assert await count_calls(api) == 0
    given = dict.fromkeys(missing, "x") | {"first_name": "Ada"}
    await place(api, assistant_id=assistant["id"], prompt_variables=given)


async def test_first_sentence_mode_none_needs_no_first_sentence_variables(api: Api) -> None:
    assistant = await create_assistant(
        api, prompt="Hi", first_sentence="Hello {{first_name}}", first_sentence_mode="none"
    )
    await place(api, assistant_id=assistant["id"])


async def test_national_numbers_use_the_organizations_country(api: Api) -> None:
    await own_numbers(api.client, "+33123456789")
    assistant = await create_assistant(api)
    call = await place(
        api,
        assistant_id=assistant["id"],
        prompt_variables=VARIABLES,
        phone_number="06 12 34 56 78",  # the organization is in France
        from_phone_number="01 23 45 67 89",
    )
    assert call["to_phone_number"] == "+33612345678"
    assert call["from_phone_number"] == "+33123456789"
    spaced = await place(
        api,
        assistant_id=assistant["id"],
        prompt_variables=VARIABLES,
        phone_number="+1 415-555-2671",
    )
    assert spaced["to_phone_number"] == PHONE


async def test_invalid_numbers_are_refused(api: Api) -> None:
    assistant = await create_assistant(api)
    for number in ("12", "not a number", "+1 555 0100 999 999 99"):
        response = await place(
            api, 400, assistant_id=assistant["id"], prompt_variables=VARIABLES, phone_number=number
        )
        assert response["error"]["fields"][0]["path"] == "phone_number", number
    bad_from = await place(
        api,
        400,
        assistant_id=assistant["id"],
        prompt_variables=VARIABLES,
        from_phone_number="0000",
    )
    assert bad_from["error"]["fields"][0]["path"] == "from_phone_number"
    assert await count_calls(api) == 0


async def test_another_organizations_assistant_and_calls_are_not_found(api: Api) -> None:
    assistant = await create_assistant(api)
    stolen = await api.other.post(
        "/call",
        json={
            "phone_number": PHONE,
            "assistant_id": assistant["id"],
            "prompt_variables": VARIABLES,
        },
    )
    assert stolen.status_code == 404 and stolen.json()["error"]["code"] == "not_found"
    call = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    for response in (
        await api.other.get(f"/call/{call['id']}"),
        await api.other.post(f"/call/{call['id']}/cancel"),
        await api.other.post(f"/call/{call['id']}/pause"),
        await api.client.get("/call/does-not-exist"),
        await api.client.get("/call/not an id"),
    ):
        assert response.status_code == 404
    assert (await api.client.get(f"/call/{call['id']}")).status_code == 200
    archived = await create_assistant(api)
    assert (await api.client.delete(f"/assistants/{archived['id']}")).status_code == 200
    gone = await place(api, 404, assistant_id=archived["id"], prompt_variables=VARIABLES)
    assert gone["error"]["code"] == "not_found"


async def test_retrieve_shows_attempts_most_recent_first(api: Api) -> None:
    assistant = await create_assistant(api)
    call = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    start = utcnow() - timedelta(hours=1)
    first = await add_attempt(
        api,
        call["id"],
        1,
        status="completed",
        result="voicemail",
        ended_by="agent",
        end_reason="voicemail",
        started_at=start,
        ended_at=start + timedelta(seconds=30),
    )
    second = await add_attempt(
        api,
        call["id"],
        2,
        status="completed",
        result="human",
        answered_at=start + timedelta(minutes=30),
        handled_by_ai=True,
        transcript=[{"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Hi"}],
        structured_output={"email": "ada@example.com"},
    )
    await set_call(api, call["id"], calls_count=2, status="completed", outcome="interested")
    got = (await api.client.get(f"/call/{call['id']}")).json()["call"]
    assert [a["id"] for a in got["call_attempts"]] == [second, first]
    assert got["last_call_attempt"] == got["call_attempts"][0]
    assert got["last_call_attempt"]["transcript"][1] == {"role": "user", "content": "Hi"}
    assert got["call_attempts"][1]["result"] == "voicemail"
    assert got["is_completed"] is True and got["outcome"] == "interested"


# ---- cancel, pause, resume ----


async def test_pause_resume_cancel_follow_the_state_machine(api: Api) -> None:
    assistant = await create_assistant(api, call_retry_config=MONDAY_PARIS)
    call = await place(
        api, assistant_id=assistant["id"], prompt_variables=VARIABLES, scheduled_at=SUNDAY_NOON
    )
    url = f"/call/{call['id']}"
    assert (await api.client.post(f"{url}/pause")).json() == {"success": True}
    assert (await api.client.get(url)).json()["call"]["status"] == "paused"
    assert (await stored(api, call["id"])).next_attempt_at == at(MONDAY_NINE_PARIS)  # kept

    again = await api.client.post(f"{url}/pause")
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "conflict",
        "message": "cannot pause a call that is paused; only initializing, scheduled, "
        "queued_for_calling or calling calls can be paused",
        "fields": [],
    }
    assert (await api.client.post(f"{url}/resume")).json() == {"success": True}
    resumed = await stored(api, call["id"])
    assert resumed.status == "scheduled"
    assert resumed.next_attempt_at == at(MONDAY_NINE_PARIS)  # still ahead: kept

    not_paused = await api.client.post(f"{url}/resume")
    assert not_paused.status_code == 409
    assert "cannot resume a call that is scheduled" in not_paused.json()["error"]["message"]

    assert (await api.client.post(f"{url}/cancel")).json() == {"success": True}
    cancelled = (await api.client.get(url)).json()["call"]
    assert cancelled["status"] == "cancelled" and cancelled["is_cancelled"] is True
    assert (await stored(api, call["id"])).next_attempt_at is None
    for action in ("cancel", "pause", "resume"):
        refused = await api.client.post(f"{url}/{action}")
        assert refused.status_code == 409, action
        assert "a call that is cancelled" in refused.json()["error"]["message"]


async def test_resume_plans_the_next_attempt_inside_the_windows(api: Api) -> None:
    assistant = await create_assistant(api, call_retry_config=MONDAY_PARIS)
    call = await place(
        api, assistant_id=assistant["id"], prompt_variables=VARIABLES, scheduled_at=SUNDAY_NOON
    )
    await api.client.post(f"/call/{call['id']}/pause")
    # The planned time passed during the pause: resume plans the next Monday window.
    past = datetime(2020, 1, 6, 8, 0, tzinfo=UTC)
    await set_call(api, call["id"], next_attempt_at=past)
    assert (await api.client.post(f"/call/{call['id']}/resume")).status_code == 200
    row = await stored(api, call["id"])
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    local = row.next_attempt_at.astimezone(ZoneInfo("Europe/Paris"))
    assert local.weekday() == 0 and 9 <= local.hour < 17


async def test_pause_during_an_attempt_and_resume_while_it_is_live(api: Api) -> None:
    assistant = await create_assistant(api)
    call = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    await add_attempt(api, call["id"], 1, status="ongoing")
    await set_call(api, call["id"], status="calling", next_attempt_at=None, calls_count=1)
    assert (await api.client.post(f"/call/{call['id']}/pause")).status_code == 200
    assert (await api.client.post(f"/call/{call['id']}/resume")).status_code == 200
    assert (await stored(api, call["id"])).status == "calling"  # the attempt is still live


async def test_finished_calls_refuse_every_action(api: Api) -> None:
    assistant = await create_assistant(api)
    call = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    await set_call(api, call["id"], status="completed")
    for action in ("cancel", "pause", "resume"):
        response = await api.client.post(f"/call/{call['id']}/{action}")
        assert response.status_code == 409
        assert "a call that is completed" in response.json()["error"]["message"]
    assert (await stored(api, call["id"])).status == "completed"


async def test_openapi_describes_every_call_method(api: Api) -> None:
    spec = (await api.anonymous.get("/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths["/call"]) == {"get", "post"}
    assert set(paths["/call/{call_id}"]) == {"get"}
    for action in ("cancel", "pause", "resume"):
        assert set(paths[f"/call/{{call_id}}/{action}"]) == {"post"}
    assert set(paths["/call/search"]) == {"post"}
    assert set(paths["/call/export"]) == {"post"}
    assert set(paths["/calls/phone-history"]) == {"get"}
    schemas = spec["components"]["schemas"]
    assert "prompt_variables" in schemas["CallCreate"]["properties"]
    assert "total_count" in schemas["CallSearchResult"]["properties"]


async def test_older_sdks_see_statuses_they_know(api: Api) -> None:
    assistant = await create_assistant(api)
    call = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    await api.client.post(f"/call/{call['id']}/pause")
    await add_attempt(
        api,
        call["id"],
        1,
        status="completed",
        transcript=[{"role": "human_agent", "content": "Taking over"}],
    )
    url = f"/call/{call['id']}"

    def as_sdk(version: str) -> dict[str, str]:
        return {"X-Stainless-Package-Version": version}

    newest = (await api.client.get(url, headers=as_sdk("0.5.0"))).json()["call"]
    assert newest["status"] == "paused"
    assert newest["call_attempts"][0]["transcript"][0]["role"] == "human_agent"
    legacy = (await api.client.get(url, headers=as_sdk("0.1.1"))).json()["call"]
    assert legacy["status"] == "scheduled"
    assert legacy["call_attempts"][0]["transcript"][0]["role"] == "assistant"
    assert (await api.client.get(url)).json()["call"]["status"] == "paused"  # not an SDK
    await set_call(api, call["id"], status="not_launched")
    assert (await api.client.get(url, headers=as_sdk("0.3.0"))).json()["call"]["status"] == (
        "initializing"
    )
    await set_call(api, call["id"], status="post_processing")
    assert (await api.client.get(url, headers=as_sdk("0.1.1"))).json()["call"]["status"] == (
        "calling"
    )
    assert (await api.client.get(url, headers=as_sdk("0.2.0"))).json()["call"]["status"] == (
        "post_processing"
    )


# ---- assistant hooks ----


async def test_assistant_update_re_snapshots_the_calls_that_give_its_variables(api: Api) -> None:
    assistant = await create_assistant(api)
    ready = await place(
        api, assistant_id=assistant["id"], prompt_variables={**VARIABLES, "offer": "10%"}
    )
    lacking = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    paused_lacking = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    await api.client.post(f"/call/{paused_lacking['id']}/pause")
    done = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    await set_call(api, done["id"], status="completed")

    new_prompt = "Offer {{offer}} to {{first_name}} at {{company}}; ask {{budget}}."
    response = await api.client.patch(
        f"/assistants/{assistant['id']}", json={"prompt": "Offer {{offer}} to {{first_name}}."}
    )
    assert response.status_code == 200
    assert response.json()["unpatchedCallsNotice"] == {"count": 2, "variables": ["offer"]}

    def prompt_of(call: dict[str, Any]) -> str:
        return str(call["assistant"]["prompt"])

    async def call_of(call_id: str) -> dict[str, Any]:
        data: dict[str, Any] = (await api.client.get(f"/call/{call_id}")).json()["call"]
        return data

    assert prompt_of(await call_of(ready["id"])) == "Offer {{offer}} to {{first_name}}."
    assert prompt_of(await call_of(lacking["id"])) == assistant["prompt"]  # kept its snapshot
    assert prompt_of(await call_of(paused_lacking["id"])) == assistant["prompt"]
    assert prompt_of(await call_of(done["id"])) == assistant["prompt"]  # finished: untouched
    assert (await call_of(ready["id"]))["updated_at"] > ready["updated_at"]

    again = await api.client.patch(f"/assistants/{assistant['id']}", json={"prompt": new_prompt})
    assert again.json()["unpatchedCallsNotice"] == {"count": 3, "variables": ["budget", "offer"]}
    assert prompt_of(await call_of(ready["id"])) == "Offer {{offer}} to {{first_name}}."

    # Every variable provided again: no notice, every pending call re-snapshotted.
    plain = await api.client.patch(f"/assistants/{assistant['id']}", json={"prompt": "Hi."})
    assert "unpatchedCallsNotice" not in plain.json()
    for call in (ready, lacking, paused_lacking):
        assert prompt_of(await call_of(call["id"])) == "Hi."


async def test_assistant_update_without_calls_has_no_notice(api: Api) -> None:
    assistant = await create_assistant(api)
    response = await api.client.patch(
        f"/assistants/{assistant['id']}", json={"prompt": "Now {{something_new}}"}
    )
    assert set(response.json()) == {"assistant"}


async def test_a_new_retry_config_re_plans_the_patched_calls(api: Api) -> None:
    assistant = await create_assistant(api, call_retry_config=MONDAY_PARIS)
    call = await place(
        api, assistant_id=assistant["id"], prompt_variables=VARIABLES, scheduled_at=SUNDAY_NOON
    )
    assert call["status"] == "scheduled"
    await api.client.patch(
        f"/assistants/{assistant['id']}",
        json={"call_retry_config": {**MONDAY_PARIS, "allowed_days": ["sunday"]}},
    )
    row = await stored(api, call["id"])
    assert row.next_attempt_at == row.scheduled_at == at(SUNDAY_NOON)  # inside Sunday 9-17
    assert row.status == "scheduled"
    assert row.assistant_snapshot["call_retry_config"]["allowed_days"] == ["sunday"]


async def test_an_assistant_unfinished_calls_use_cannot_be_deleted(api: Api) -> None:
    assistant = await create_assistant(api)
    first = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    second = await place(api, assistant_id=assistant["id"], prompt_variables=VARIABLES)
    await api.client.post(f"/call/{second['id']}/pause")
    refused = await api.client.delete(f"/assistants/{assistant['id']}")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "conflict"
    assert "used by 2 unfinished calls (1 paused, 1 queued_for_calling)" in error["message"]
    assert (await api.client.get(f"/assistants/{assistant['id']}")).status_code == 200
    for call in (first, second):
        await api.client.post(f"/call/{call['id']}/cancel")
    assert (await api.client.delete(f"/assistants/{assistant['id']}")).status_code == 200
    # The calls keep their snapshot of the archived assistant.
    kept = (await api.client.get(f"/call/{first['id']}")).json()["call"]
    assert kept["assistant"]["id"] == assistant["id"]
