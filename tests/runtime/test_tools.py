"""Each built-in and custom tool, called by the fake LLM over real HTTP."""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr

from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, Reply, call, say
from tests.runtime.conftest import CALLEE, settings_for
from tests.runtime.conftest import call as start_call
from tests.runtime.http_fakes import Answer, FakeHttp, Seen

SALES = {"label": "Sales", "phone_number": "+33612345670"}
SUPPORT = {"label": "Support", "phone_number": "+33612345671"}


def last_tool_result(llm: FakeOpenAI) -> dict[str, Any]:
    message = llm.requests[-1].messages[-1]
    assert message["role"] == "tool"
    return dict(json.loads(message["content"]))


async def test_transfer_with_one_destination_is_cold_by_default(llm: FakeOpenAI) -> None:
    llm.add(say("Hi Ann!"), call("transfer_call", "Let me connect you.", reason="wants a human"))
    async with start_call(llm, transfer_destinations=[SALES]) as c:
        await c.chat.start()
        assert await c.chat.say("A human please") == ["Let me connect you."]
        result = await c.chat.result()
    assert (result.ended_by, result.end_reason) == ("agent", "transfer")
    assert result.transfer is not None
    assert (result.transfer.label, result.transfer.phone_number) == ("Sales", "+33612345670")
    assert (result.transfer.mode, result.transfer.summary) == ("cold", None)
    assert result.transfer.reason == "wants a human"
    assert c.transport.transfers == [result.transfer]
    assert not c.transport.hung_up  # telephony bridges; the agent does not hang up


async def test_warm_transfer_chooses_by_label_and_briefs(llm: FakeOpenAI) -> None:
    def brain(request: FakeRequest) -> Reply:
        if not request.body.get("stream"):  # the briefing, asked out of band
            assert "Summarize for {{nobody}}" not in request.system_prompt
            assert "Brief the agent in one sentence." in request.system_prompt
            assert "My invoice is wrong" in request.messages[-1]["content"]
            return Reply(text="Ann disputes invoice 42.")
        if len(llm.requests) == 1:
            return say("Hi Ann!")
        return call("transfer_call", destination="Support")

    llm._handler = brain
    async with start_call(
        llm,
        transfer_destinations=[SALES, SUPPORT],
        human_transfer_mode="warm",
        warm_transfer_summary_instructions="Brief the agent in one sentence.",
    ) as c:
        await c.chat.start()
        tools = llm.requests[0].tool("transfer_call")
        assert tools["parameters"]["properties"]["destination"]["enum"] == ["Sales", "Support"]
        await c.chat.say("My invoice is wrong")
        result = await c.chat.result()
    assert result.transfer is not None
    assert (result.transfer.label, result.transfer.mode) == ("Support", "warm")
    assert result.transfer.summary == "Ann disputes invoice 42."


async def test_transfer_to_an_unknown_label_is_reported_to_the_llm(llm: FakeOpenAI) -> None:
    llm.add(say("Hi!"), call("transfer_call", destination="Billing"), say("Sorry, who?"))
    async with start_call(llm, transfer_destinations=[SALES, SUPPORT]) as c:
        await c.chat.start()
        assert await c.chat.say("Billing please") == ["Sorry, who?"]
        assert last_tool_result(llm) == {
            "error": "unknown destination 'Billing'",
            "choose_from": ["Sales", "Support"],
        }
        assert not c.chat.ended


async def test_send_sms_uses_the_template_verbatim(llm: FakeOpenAI) -> None:
    llm.add(say("Hi!"), call("send_sms", message="ignored"), say("Sent!"))
    async with start_call(
        llm, sms_enabled=True, sms_template="Hi {{name}}, your code is 1234."
    ) as c:
        await c.chat.start()
        assert "message" not in llm.requests[0].tool("send_sms")["parameters"]["properties"]
        assert await c.chat.say("Text me the code") == ["Sent!"]
        result = await c.chat.hang_up()
    assert [(m.to, m.body) for m in c.sms.sent] == [(CALLEE, "Hi Ann, your code is 1234.")]
    assert [m.body for m in result.sms] == ["Hi Ann, your code is 1234."]
    assert last_tool_result(llm)["status"] == "sent"


async def test_send_sms_without_template_sends_the_llms_text(llm: FakeOpenAI) -> None:
    llm.add(say("Hi!"), call("send_sms", message="Our address: 1 rue de Rivoli."), say("Done."))
    async with start_call(llm, sms_enabled=True) as c:
        await c.chat.start()
        assert llm.requests[0].tool("send_sms")["parameters"]["required"] == ["message"]
        await c.chat.say("Send me the address")
    assert [m.body for m in c.sms.sent] == ["Our address: 1 rue de Rivoli."]


def stock_tool(url: str) -> dict[str, Any]:
    return {
        "name": "check_stock",
        "description": "Check the stock of a product",
        "method": "POST",
        "url": url + "/stores/{{store}}/stock",
        "headers": [{"key": "Authorization", "value": "Bearer {{api_token}}"}],
        "query_params": [{"key": "sku", "value": "{{sku}}"}],
        "body_template": '{"sku": "{{sku}}", "quantity": {{quantity}}, "who": "{{name}}"}',
        "input_schema": [
            {"name": "sku", "type": "string", "required": True},
            {"name": "quantity", "type": "number", "required": True},
        ],
    }


async def test_custom_http_tool_fills_the_request(llm: FakeOpenAI) -> None:
    with FakeHttp({("POST", "/stores/paris/stock"): Answer(200, {"in_stock": 3})}) as api:
        llm.add(say("Hi!"), call("check_stock", sku="A 1", quantity=2), say("We have 3."))
        async with start_call(
            llm,
            variables={"name": "Ann", "store": "paris", "api_token": "t0k"},
            custom_tools=[stock_tool(api.url)],
        ) as c:
            await c.chat.start()
            assert await c.chat.say("Do you have A 1?") == ["We have 3."]
            result = await c.chat.hang_up()
        (seen,) = api.seen
        assert seen.query == {"sku": "A 1"}
        assert seen.headers["authorization"] == "Bearer t0k"
        assert seen.body == {"sku": "A 1", "quantity": 2, "who": "Ann"}
    assert last_tool_result(llm) == {"status": 200, "body": {"in_stock": 3}}
    tool = next(i for i in result.transcript if i.role == "tool")
    assert (tool.tool_name, tool.tool_is_error) == ("check_stock", False)


async def test_custom_http_tool_error_and_timeout_do_not_end_the_call(llm: FakeOpenAI) -> None:
    routes = {
        ("POST", "/stores/paris/stock"): Answer(500, {"detail": "database down"}),
        ("POST", "/stores/slow/stock"): Answer(200, {}, delay=1.0),
    }
    with FakeHttp(routes) as api:
        llm.add(
            say("Hi!"),
            call("check_stock", sku="A1", quantity=1),
            say("The stock service is down."),
            call("check_stock", sku="A1", quantity=1),
            say("It is slow today."),
        )
        tool = stock_tool(api.url)
        async with start_call(
            llm,
            variables={"name": "Ann", "store": "paris", "api_token": "t"},
            settings=settings_for(llm, custom_tool_timeout_secs=0.2),
            custom_tools=[tool],
        ) as c:
            await c.chat.start()
            assert await c.chat.say("Stock?") == ["The stock service is down."]
            assert last_tool_result(llm) == {
                "error": "the service answered HTTP 500",
                "body": {"detail": "database down"},
            }
            c.session.config.variables["store"] = "slow"
            assert await c.chat.say("Try again") == ["It is slow today."]
            assert last_tool_result(llm) == {"error": "the service did not answer within 0.2 s"}
            assert not c.chat.ended
            result = await c.chat.hang_up()
    errors = [i.tool_is_error for i in result.transcript if i.role == "tool"]
    assert errors == [True, True]


async def test_dtmf_and_skip_turn_for_ivr_navigation(llm: FakeOpenAI) -> None:
    llm.add(say("Hello?"), call("send_dtmf", digits="2#"), call("skip_turn"), say("Hi, Ava here."))
    async with start_call(llm, ivr_navigation_enabled=True) as c:
        await c.chat.start()
        assert await c.chat.say("For sales press 2, then hash.") == []
        assert c.transport.dtmf == ["2#"]
        assert await c.chat.say("Please hold.") == []
        assert await c.chat.say("Sales, Bob speaking.") == ["Hi, Ava here."]
        result = await c.chat.hang_up()
    assert result.dtmf == ["2#"]
    names = [i.tool_name for i in result.transcript if i.role == "tool"]
    assert names == ["send_dtmf", "skip_turn"]


async def test_calendly_availability_and_booking(llm: FakeOpenAI) -> None:
    def slots(seen: Seen) -> Answer:
        return Answer(
            200,
            {
                "collection": [
                    {"status": "available", "start_time": "2031-03-03T09:00:00Z"},
                    {"status": "available", "start_time": "2031-03-03T10:00:00Z"},
                ]
            },
        )

    routes = {
        ("GET", "/event_type_available_times"): slots,
        ("POST", "/invitees"): Answer(201, {"resource": {"uri": "https://cal/ev/1"}}),
    }
    with FakeHttp(routes) as calendly:
        llm.add(
            say("Hi!"),
            call("check_availability", start_date="2031-03-03", end_date="2031-03-04"),
            say("I have 9 or 10 am."),
            call(
                "book_meeting",
                start_time="2031-03-03T09:00:00Z",
                name="Ann Lee",
                email="ann@example.test",
            ),
            say("Booked for 9."),
        )
        settings = settings_for(
            llm, calendly_base_url=calendly.url, calendly_tokens={"conn-1": SecretStr("cal-tok")}
        )
        async with start_call(
            llm,
            settings=settings,
            calendly={"connection_id": "conn-1", "event_type_id": "evt-9"},
        ) as c:
            await c.chat.start()
            assert await c.chat.say("When are you free?") == ["I have 9 or 10 am."]
            assert last_tool_result(llm)["available_slots"] == [
                "2031-03-03T09:00:00Z",
                "2031-03-03T10:00:00Z",
            ]
            assert await c.chat.say("9 please, Ann Lee, ann@example.test") == ["Booked for 9."]
            assert last_tool_result(llm) == {
                "status": "booked",
                "start_time": "2031-03-03T09:00:00Z",
                "event": "https://cal/ev/1",
            }
        get, post = calendly.seen
        assert get.headers["authorization"] == "Bearer cal-tok"
        assert get.query["event_type"] == f"{calendly.url}/event_types/evt-9"
        assert get.query["start_time"].startswith("2031-03-03T00:00:00")
        assert get.query["end_time"].startswith("2031-03-05T00:00:00")
        assert post.body == {
            "event_type": f"{calendly.url}/event_types/evt-9",
            "start_time": "2031-03-03T09:00:00Z",
            "invitee": {"name": "Ann Lee", "email": "ann@example.test"},
        }


async def test_calendly_without_a_token_tells_the_llm(llm: FakeOpenAI) -> None:
    llm.add(say("Hi!"), call("check_availability", start_date="2031-03-03"), say("Not now."))
    async with start_call(llm, calendly={"connection_id": "nope", "event_type_id": "e"}) as c:
        await c.chat.start()
        assert await c.chat.say("Free slots?") == ["Not now."]
        assert "has no token" in last_tool_result(llm)["error"]
