"""After-call analysis against a real local OpenAI-compatible server (FakeOpenAI)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from openrevox.config import Settings
from openrevox.postcall.analysis import (
    REPAIR_ROUNDS,
    Analysis,
    AnalysisError,
    CallFacts,
    analyse_call,
)
from openrevox.providers.llm.base import LlmNotConfigured
from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, Reply, answer_json, say

DEDICATED = {"type": "dedicated-instance", "name": "gpt-4.1"}

FIELDS: list[dict[str, Any]] = [
    {"name": "email", "type": "string", "required": True, "description": "callee's email"},
    {"name": "budget", "type": "number", "required": False, "description": "in euros"},
    {"name": "has_team", "type": "boolean", "required": False},
    {
        "name": "interest",
        "type": "enum",
        "required": True,
        "enum_options": ["low", "medium", "high"],
    },
    {"name": "start_date", "type": "date", "required": False},
    {"name": "callback_at", "type": "datetime", "required": False},
]

TRANSCRIPT: list[dict[str, Any]] = [
    {"role": "assistant", "content": "Hello, this is Ann from Acme. Is this Bob?"},
    {"role": "user", "content": "Yes, Bob Stone here, I run purchasing at Globex."},
    {"role": "assistant", "content": "Would you like a demo of our scheduling tool?"},
    {"role": "user", "content": "Sure. Budget is about 5000 euros, mail bob@globex.com."},
    {
        "role": "tool",
        "content": "",
        "tool_name": "end_call",
        "tool_arguments": {"reason": "done"},
        "tool_output": "ok",
    },
]

GOOD: dict[str, Any] = {
    "summary": "Ann called Bob Stone of Globex, who wants a demo.",
    "outcome": "interested",
    "outcome_summary": "Bob asked for a demo.",
    "contact": {
        "first_name": "Bob",
        "last_name": "Stone",
        "email": "bob@globex.com",
        "company": "Globex",
        "job_title": "Head of purchasing",
    },
    "structured_output": {
        "email": "bob@globex.com",
        "budget": 5000,
        "has_team": True,
        "interest": "high",
        "start_date": "2026-12-01",
        "callback_at": "2026-12-01T15:30:00+01:00",
    },
}


def assistant(**config: Any) -> dict[str, Any]:
    return {"llm_model": DEDICATED, "structured_output_config": FIELDS, **config}


def facts(transcript: list[dict[str, Any]] | None = None, **values: Any) -> CallFacts:
    base: dict[str, Any] = {
        "transcript": TRANSCRIPT if transcript is None else transcript,
        "call_direction": "outbound",
        "user_phone_number": "+33612345678",
        "agent_phone_number": "+33198765432",
        "prompt_variables": {"campaign": "winter"},
        "ended_at": datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    }
    return CallFacts(**{**base, **values})


def settings_for(llm: FakeOpenAI | None, **values: Any) -> Settings:
    """Settings routing dedicated-instance models to ``llm``; nothing else configured."""
    base: dict[str, Any] = {
        "openai_base_url": llm.base_url if llm else None,
        "openai_api_key": SecretStr("sk-assistant") if llm else None,
        "openrouter_api_key": None,
        "llm_endpoints": {},
        "analysis_base_url": None,
        "analysis_api_key": None,
        "analysis_model": None,
    }
    return Settings(**{**base, **values})


def with_output(**fields: Any) -> dict[str, Any]:
    """GOOD with some structured output values replaced (``...`` removes the key)."""
    output = {**GOOD["structured_output"], **fields}
    return {**GOOD, "structured_output": {k: v for k, v in output.items() if v is not ...}}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def run(
    llm: FakeOpenAI, http: httpx.AsyncClient, config: dict[str, Any] | None = None, **kw: Any
) -> Analysis:
    return await analyse_call(
        config if config is not None else assistant(), facts(**kw), settings_for(llm), http=http
    )


def user_text(request: FakeRequest) -> str:
    return "\n".join(str(m["content"]) for m in request.messages if m["role"] == "user")


# ---- the happy path ----


async def test_one_request_gives_every_field_typed(http: httpx.AsyncClient) -> None:
    with FakeOpenAI([answer_json(GOOD)]) as llm:
        analysis = await run(llm, http)
    assert analysis.summary == GOOD["summary"]
    assert analysis.outcome == "interested"
    assert analysis.outcome_summary == "Bob asked for a demo."
    assert analysis.contact == GOOD["contact"]
    assert analysis.structured_output == {
        "email": "bob@globex.com",
        "budget": 5000,
        "has_team": True,
        "interest": "high",
        "start_date": "2026-12-01",
        "callback_at": "2026-12-01T15:30:00+01:00",
    }
    assert analysis.model == "gpt-4.1"

    (request,) = llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-assistant"
    assert request.body["model"] == "gpt-4.1"
    assert request.body["stream"] is False
    assert request.response_format == {"type": "json_object"}
    system = request.system_prompt
    assert "JSON" in system
    assert '"interest": "low" | "medium" | "high" | null' in system
    assert '"email": string | null,  // required -- callee\'s email' in system
    assert '"budget": number | null,  // optional -- in euros' in system
    text = user_text(request)
    assert "Callee: Yes, Bob Stone here, I run purchasing at Globex." in text
    assert "Agent: Hello, this is Ann from Acme. Is this Bob?" in text
    assert '[tool end_call({"reason": "done"}) -> ok]' in text
    assert "Date of the call: 2026-11-24 (Tuesday)" in text
    assert "campaign: winter" in text
    assert "Direction: outbound" in text


async def test_without_structured_output_config_there_is_none(
    http: httpx.AsyncClient,
) -> None:
    reply = {k: v for k, v in GOOD.items() if k != "structured_output"}
    with FakeOpenAI([answer_json(reply)]) as llm:
        analysis = await run(llm, http, {"llm_model": DEDICATED, "structured_output_config": []})
    assert analysis.structured_output is None
    assert analysis.summary == GOOD["summary"]
    assert "structured_output" not in llm.requests[0].system_prompt


async def test_values_are_normalised_when_the_meaning_is_unambiguous(
    http: httpx.AsyncClient,
) -> None:
    reply = {
        **with_output(
            email="  bob@globex.com ",
            budget="N/A",
            has_team=None,
            interest="High",
            start_date="20261201",
            callback_at="2026-12-01 14:30:00+00:00",
        ),
        "outcome": "Completed",
        "contact": {"first_name": "Bob", "email": "unknown", "company": ""},
    }
    with FakeOpenAI([say("```json\n" + json.dumps(reply) + "\n```")]) as llm:
        analysis = await run(llm, http)
    assert len(llm.requests) == 1  # nothing to repair
    assert analysis.outcome == "completed"
    assert analysis.structured_output == {
        "email": "bob@globex.com",
        "budget": None,
        "has_team": None,
        "interest": "high",
        "start_date": "2026-12-01",
        "callback_at": "2026-12-01T14:30:00Z",
    }
    assert analysis.contact == {
        "first_name": "Bob",
        "last_name": None,
        "email": None,
        "company": None,
        "job_title": None,
    }


async def test_required_fields_the_call_did_not_give_are_null(http: httpx.AsyncClient) -> None:
    reply = {
        **GOOD,
        "outcome": None,
        "outcome_summary": None,
        "structured_output": {"email": None, "interest": None},
    }
    with FakeOpenAI([answer_json(reply)]) as llm:
        analysis = await run(llm, http)
    assert len(llm.requests) == 1
    assert analysis.outcome is None
    assert analysis.structured_output == {"email": None, "interest": None}


async def test_the_call_input_data_fills_the_contact(http: httpx.AsyncClient) -> None:
    reply = {**GOOD, "contact": {"first_name": "Bob"}}
    with FakeOpenAI([answer_json(reply)]) as llm:
        analysis = await run(
            llm,
            http,
            prompt_variables={"first_name": "Robert", "company": "Globex SA", "job_title": " "},
        )
    assert analysis.contact == {
        "first_name": "Bob",  # what the call said wins
        "last_name": None,
        "email": None,
        "company": "Globex SA",
        "job_title": None,
    }
    assert "company: Globex SA" in user_text(llm.requests[0])


# ---- repairs ----


async def test_invalid_json_is_repaired(http: httpx.AsyncClient) -> None:
    with FakeOpenAI([say("Sure! The summary is: Bob wants a demo."), answer_json(GOOD)]) as llm:
        analysis = await run(llm, http)
    assert analysis.structured_output is not None
    assert analysis.structured_output["interest"] == "high"
    first, second = llm.requests
    assert second.messages[: len(first.messages)] == first.messages
    bad_answer, correction = second.messages[len(first.messages) :]
    assert bad_answer == {
        "role": "assistant",
        "content": "Sure! The summary is: Bob wants a demo.",
    }
    assert correction["role"] == "user"
    assert "$: not valid JSON" in correction["content"]
    assert second.response_format == {"type": "json_object"}


async def test_a_value_outside_the_enum_is_repaired(http: httpx.AsyncClient) -> None:
    with FakeOpenAI([answer_json(with_output(interest="very high")), answer_json(GOOD)]) as llm:
        analysis = await run(llm, http)
    assert analysis.structured_output is not None
    assert analysis.structured_output["interest"] == "high"
    correction = llm.requests[1].messages[-1]["content"]
    assert (
        "structured_output.interest: must be one of ['low', 'medium', 'high'] or null; "
        "got 'very high'" in correction
    )


@pytest.mark.parametrize(
    ("name", "wrong", "right", "expected"),
    [
        ("email", 42, "bob@globex.com", "bob@globex.com"),
        ("budget", "about 5000", 5000.5, 5000.5),
        ("has_team", "yes", False, False),
        ("start_date", "next Tuesday", "2026-12-01", "2026-12-01"),
        ("start_date", "01/12/2026", "2026-12-01", "2026-12-01"),
        ("callback_at", "2026-12-01", "2026-12-01T09:00:00", "2026-12-01T09:00:00"),
        ("callback_at", "tomorrow 3pm", "2026-11-25T15:00:00Z", "2026-11-25T15:00:00Z"),
    ],
)
async def test_each_type_is_checked_and_repaired(
    http: httpx.AsyncClient, name: str, wrong: Any, right: Any, expected: Any
) -> None:
    replies = [answer_json(with_output(**{name: wrong})), answer_json(with_output(**{name: right}))]
    with FakeOpenAI(replies) as llm:
        analysis = await run(llm, http)
    assert len(llm.requests) == 2
    assert f"structured_output.{name}: must be" in llm.requests[1].messages[-1]["content"]
    assert analysis.structured_output is not None
    assert analysis.structured_output[name] == expected


async def test_a_missing_required_field_is_asked_for(http: httpx.AsyncClient) -> None:
    with FakeOpenAI([answer_json(with_output(email=...)), answer_json(GOOD)]) as llm:
        analysis = await run(llm, http)
    assert "structured_output.email: is required" in llm.requests[1].messages[-1]["content"]
    assert analysis.structured_output is not None
    assert analysis.structured_output["email"] == "bob@globex.com"


async def test_a_required_field_still_invalid_fails_the_analysis(
    http: httpx.AsyncClient,
) -> None:
    wrong = answer_json(with_output(interest="very high"))
    with FakeOpenAI([wrong] * 5) as llm, pytest.raises(AnalysisError) as caught:
        await run(llm, http)
    assert len(llm.requests) == 1 + REPAIR_ROUNDS
    assert "still invalid after 2 repairs" in caught.value.message
    assert "structured_output.interest" in caught.value.message
    assert caught.value.code == "analysis_failed"


async def test_an_unknown_outcome_still_invalid_fails_the_analysis(
    http: httpx.AsyncClient,
) -> None:
    with (
        FakeOpenAI([answer_json({**GOOD, "outcome": "maybe_later"})] * 3) as llm,
        pytest.raises(AnalysisError, match="outcome: must be one of"),
    ):
        await run(llm, http)
    assert len(llm.requests) == 3


async def test_json_still_invalid_fails_the_analysis(http: httpx.AsyncClient) -> None:
    with (
        FakeOpenAI(default="I cannot answer in JSON.") as llm,
        pytest.raises(AnalysisError, match=r"\$: not valid JSON"),
    ):
        await run(llm, http)
    assert len(llm.requests) == 3


async def test_an_optional_field_still_invalid_is_dropped(http: httpx.AsyncClient) -> None:
    reply = {**with_output(budget="about 5000"), "contact": {**GOOD["contact"], "email": 7}}
    with FakeOpenAI([answer_json(reply)] * 3) as llm:
        analysis = await run(llm, http)
    assert len(llm.requests) == 3
    assert analysis.structured_output is not None
    assert "budget" not in analysis.structured_output
    assert analysis.structured_output["interest"] == "high"
    assert analysis.contact is not None
    assert analysis.contact["email"] is None
    assert analysis.contact["first_name"] == "Bob"


# ---- failures of the LLM ----


async def test_an_llm_error_fails_the_analysis(http: httpx.AsyncClient) -> None:
    with (
        FakeOpenAI([Reply(status=500, error="upstream exploded")]) as llm,
        pytest.raises(AnalysisError) as caught,
    ):
        await run(llm, http)
    assert len(llm.requests) == 1
    assert caught.value.message.startswith("LLM answered HTTP 500: dedicated-instance model")
    assert "upstream exploded" in caught.value.message
    assert "sk-assistant" not in caught.value.message


async def test_an_unreachable_llm_fails_the_analysis(http: httpx.AsyncClient) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = settings_for(None, openai_base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(AnalysisError, match="LLM unreachable"):
        await analyse_call(assistant(), facts(), settings, http=http)


async def test_llm_not_configured_propagates(http: httpx.AsyncClient) -> None:
    with pytest.raises(LlmNotConfigured) as caught:
        await analyse_call(assistant(), facts(), settings_for(None), http=http)
    assert caught.value.setting == "OPENREVOX_OPENAI_API_KEY"


async def test_analysis_url_without_a_model_names_the_setting(http: httpx.AsyncClient) -> None:
    settings = settings_for(None, analysis_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(LlmNotConfigured) as caught:
        await analyse_call(assistant(), facts(), settings, http=http)
    assert caught.value.setting == "OPENREVOX_ANALYSIS_MODEL"


# ---- routes, prompts, no conversation ----


async def test_analysis_base_url_overrides_the_assistant_route(http: httpx.AsyncClient) -> None:
    with FakeOpenAI() as own, FakeOpenAI([answer_json(GOOD)]) as analyst:
        settings = settings_for(
            own,
            analysis_base_url=analyst.base_url,
            analysis_api_key=SecretStr("sk-analysis"),
            analysis_model="qwen3-32b",
        )
        analysis = await analyse_call(assistant(), facts(), settings, http=http)
    assert own.requests == []
    (request,) = analyst.requests
    assert request.body["model"] == "qwen3-32b"
    assert request.headers["authorization"] == "Bearer sk-analysis"
    assert analysis.model == "qwen3-32b"


async def test_a_realtime_assistant_is_analysed_by_the_text_model(
    http: httpx.AsyncClient,
) -> None:
    config = assistant(
        llm_model={"type": "realtime", "provider": "openai", "realtime_model_id": "gpt-realtime"}
    )
    with FakeOpenAI([answer_json(GOOD)]) as llm:
        settings = settings_for(llm, openai_realtime_text_model="gpt-4.1-mini")
        analysis = await analyse_call(config, facts(), settings, http=http)
    (request,) = llm.requests
    assert request.body["model"] == "gpt-4.1-mini"
    assert request.headers["authorization"] == "Bearer sk-assistant"
    assert analysis.model == "gpt-4.1-mini"


async def test_openrouter_route_keeps_the_provider_order(http: httpx.AsyncClient) -> None:
    config = assistant(
        llm_model={
            "type": "openrouter",
            "openrouter_model_id": "mistralai/mistral-small",
            "openrouter_provider": "mistral",
        }
    )
    with FakeOpenAI([answer_json(GOOD)]) as llm:
        settings = settings_for(
            None, openrouter_base_url=llm.base_url, openrouter_api_key=SecretStr("or-key")
        )
        analysis = await analyse_call(config, facts(), settings, http=http)
    (request,) = llm.requests
    assert request.body["model"] == "mistralai/mistral-small"
    assert request.body["provider"] == {"order": ["mistral"]}
    assert analysis.model == "mistralai/mistral-small"


async def test_structured_output_prompt_variables_are_filled(http: httpx.AsyncClient) -> None:
    prompt = (
        "Call {{call_direction}} from {{agent_phone_number}} to {{user_phone_number}} "
        "({{campaign}}, {{unknown_thing}}). Conversation:\n{{transcript}}\nExtract it all."
    )
    with FakeOpenAI([answer_json(GOOD)]) as llm:
        await run(llm, http, assistant(structured_output_prompt=prompt))
    text = user_text(llm.requests[0])
    assert (
        "Call outbound from +33198765432 to +33612345678 (winter, {{unknown_thing}}). "
        "Conversation:\nAgent: Hello, this is Ann from Acme. Is this Bob?\n"
        "Callee: Yes, Bob Stone here" in text
    )
    assert "Extract it all." in text
    assert "## Transcript" not in text  # the prompt placed it already
    assert text.count("bob@globex.com") == 1
    assert "never guess or invent" not in text  # the default instruction is replaced


async def test_a_prompt_without_the_transcript_still_gets_it(http: httpx.AsyncClient) -> None:
    with FakeOpenAI([answer_json(GOOD)]) as llm:
        await run(
            llm,
            http,
            assistant(structured_output_prompt="Inbound? {{call_direction}}"),
            agent_phone_number=None,
        )
    text = user_text(llm.requests[0])
    assert "Inbound? outbound" in text
    assert "## Transcript\nAgent: Hello" in text
    assert "Agent's phone number: unknown" in text


@pytest.mark.parametrize(
    "transcript",
    [
        [],
        [{"role": "assistant", "content": "Hello, is this Bob?"}, {"role": "user", "content": " "}],
    ],
    ids=["empty", "callee-silent"],
)
async def test_no_conversation_asks_no_llm(
    http: httpx.AsyncClient, transcript: list[dict[str, Any]]
) -> None:
    with FakeOpenAI() as llm:
        analysis = await run(llm, http, transcript=transcript)
        plain = await run(llm, http, {"llm_model": DEDICATED}, transcript=transcript)
    assert llm.requests == []
    assert analysis == Analysis(
        summary=None,
        outcome=None,
        outcome_summary=None,
        structured_output=dict.fromkeys(f["name"] for f in FIELDS),
        contact=None,
        model="",
    )
    assert plain.structured_output is None


async def test_no_conversation_needs_no_configured_llm(http: httpx.AsyncClient) -> None:
    analysis = await analyse_call(assistant(), facts([]), settings_for(None), http=http)
    assert analysis.summary is None
