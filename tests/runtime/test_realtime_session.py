"""A call session on a realtime model over the text transport, against the shipped fake
of OpenAI's Realtime API (a real WebSocket on loopback): the session's conversation
lives on the model's server, lines in and text out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr

from openrevox.config import Settings
from openrevox.runtime.call_config import resolve_call_config
from openrevox.runtime.clock import Clock, ScaledClock
from openrevox.runtime.pipeline import AudioLegs
from openrevox.runtime.session import CallSession
from openrevox.runtime.transports.text import TextConversation, TextTransport
from openrevox.testing.fake_openai import FakeOpenAI, call, say
from openrevox.testing.fake_openai_realtime import FakeOpenAIRealtime
from tests.runtime.conftest import ASSISTANT

REALTIME = {
    "type": "realtime",
    "provider": "openai",
    "realtime_model_id": "gpt-realtime",
    "realtime_voice_id": "marin",
}


@pytest.fixture
def model() -> Iterator[FakeOpenAIRealtime]:
    with FakeOpenAIRealtime() as fake:
        yield fake


def realtime_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_api_key": SecretStr("sk-rt"),
        "openai_realtime_url": url,
        "user_inactivity_timeout_secs": 0,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def realtime_call(
    model: FakeOpenAIRealtime,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    audio: AudioLegs | None = None,
    **assistant: Any,
) -> AsyncIterator[tuple[TextConversation, TextTransport]]:
    config = resolve_call_config({**ASSISTANT, "llm_model": REALTIME, **assistant}, {"name": "Ann"})
    transport = TextTransport()
    session = CallSession(
        config,
        transport,
        settings=settings or realtime_settings(model.url),
        clock=clock,
        audio=audio,
    )
    chat = TextConversation(session, transport)
    try:
        yield chat, transport
    finally:
        if chat._task is not None and not chat._task.done():
            await chat.hang_up(wait_secs=10)


def user_texts(model: FakeOpenAIRealtime) -> list[str]:
    return [
        part.get("text", "")
        for item in model.items
        if item.get("role") == "user"
        for part in item.get("content") or []
    ]


async def test_generated_opening_and_turns_go_through_the_realtime_session(
    model: FakeOpenAIRealtime,
) -> None:
    model.add(say("Hi Ann, Ava from Acme here."), say("It ships today."))
    async with realtime_call(model, stt_context={"terms": ["Acme", "Ava"]}) as (chat, _):
        assert await chat.start() == ["Hi Ann, Ava from Acme here."]
        assert await chat.say("Where is my order?") == ["It ships today."]
        result = await chat.hang_up()
    assert model.headers[0]["authorization"] == "Bearer sk-rt"
    session = model.sessions[-1]
    assert session["model"] == "gpt-realtime"
    assert session["output_modalities"] == ["text"]
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["audio"]["input"]["transcription"]["prompt"] == "Acme, Ava"  # stt_context
    assert "calling Ann about their order" in session["instructions"]
    assert {"end_call", "record_unanswered_question"} <= {t["name"] for t in session["tools"]}
    # The opening is a response to nothing; the callee's line reaches the model as a
    # user item before the second response, once.
    assert [len(r.items) for r in model.responses][:1] == [0]
    assert user_texts(model) == ["Where is my order?"]
    assert model.responses[1].items[-1]["content"][0]["text"] == "Where is my order?"
    assert all(r.modalities == ["text"] for r in model.responses)
    assert [(i.role, i.content) for i in result.transcript] == [
        ("assistant", "Hi Ann, Ava from Acme here."),
        ("user", "Where is my order?"),
        ("assistant", "It ships today."),
    ]
    assert result.engines == {}


async def test_static_opening_is_said_exactly_and_given_to_the_model(
    model: FakeOpenAIRealtime,
) -> None:
    model.add(say("Great, let's talk."))
    async with realtime_call(
        model, first_sentence_mode="static", first_sentence="Hello {{name}}, Ava here."
    ) as (chat, _):
        assert await chat.start() == ["Hello Ann, Ava here."]
        assert model.responses == []  # nothing to generate
        assert await chat.say("Hi Ava") == ["Great, let's talk."]
    said = [(i["role"], i["content"][0]) for i in model.responses[0].items]
    assert said == [
        ("assistant", {"type": "output_text", "text": "Hello Ann, Ava here."}),
        ("user", {"type": "input_text", "text": "Hi Ava"}),
    ]


async def test_none_opening_waits_for_the_callee(model: FakeOpenAIRealtime) -> None:
    model.add(say("Hello! Ava from Acme."))
    async with realtime_call(model, first_sentence_mode="none") as (chat, _):
        assert await chat.start() == []
        assert model.responses == []
        assert await chat.say("Hello?") == ["Hello! Ava from Acme."]
    assert user_texts(model) == ["Hello?"]


async def test_end_call_says_the_end_sentence_then_hangs_up(model: FakeOpenAIRealtime) -> None:
    model.add(say("Hi Ann!"), call("end_call", reason="not interested"))
    async with realtime_call(model, end_of_call_sentence="Goodbye {{name}}.") as (chat, transport):
        await chat.start()
        assert await chat.say("Not interested.") == ["Goodbye Ann."]
        result = await chat.result()
    assert (result.ended_by, result.end_reason, result.error) == ("agent", "tool_end_call", None)
    assert transport.hung_up
    tool = next(i for i in result.transcript if i.role == "tool")
    assert (tool.tool_name, tool.tool_arguments) == ("end_call", {"reason": "not interested"})
    assert result.transcript[-1].content == "Goodbye Ann."
    outputs = [i for i in model.items if i.get("type") == "function_call_output"]
    assert len(outputs) == 1  # the model was told the tool ran
    assert len(model.responses) == 2  # and not asked to answer after end_call


async def test_max_duration_says_its_message_and_hangs_up(model: FakeOpenAIRealtime) -> None:
    model.add(say("Hi Ann!"))
    async with realtime_call(
        model,
        clock=ScaledClock(10),
        max_call_duration_secs=30,
        max_duration_end_message="Sorry {{name}}, we are out of time.",
    ) as (chat, transport):
        await chat.start()
        result = await chat.result(wait_secs=10)
    assert (result.ended_by, result.end_reason) == ("system", "max_duration")
    assert transport.utterances[-1] == "Sorry Ann, we are out of time."
    assert transport.hung_up


@pytest.mark.parametrize(
    ("opening", "audio"),
    [
        ("generated", None),
        ("static", None),
        # The model would say a static opening on a phone call: nobody will.
        ("static", AudioLegs(speech_to_speech=True)),
    ],
)
async def test_an_unreachable_realtime_server_ends_the_call_in_error(
    opening: str, audio: AudioLegs | None
) -> None:
    with FakeOpenAIRealtime() as fake:
        url = fake.url  # a port nobody listens on once the fake is gone
    async with realtime_call(
        fake, settings=realtime_settings(url), first_sentence_mode=opening, audio=audio
    ) as (chat, _):
        await chat.start()
        result = await chat.result(wait_secs=10)
    assert (result.ended_by, result.end_reason) == ("system", "error")
    assert result.duration_secs < 3  # nothing is waited for: nobody can say it
    assert result.error is not None
    assert "realtime model 'gpt-realtime'" in result.error and url in result.error


@pytest.mark.parametrize(
    ("opening", "audio"),
    [("generated", None), ("static", AudioLegs(speech_to_speech=True))],
)
async def test_a_refused_key_ends_the_call_in_error_with_the_apis_words(
    opening: str, audio: AudioLegs | None
) -> None:
    with FakeOpenAIRealtime(api_key="sk-right") as model:
        settings = realtime_settings(model.url)
        async with realtime_call(
            model, settings=settings, first_sentence_mode=opening, audio=audio
        ) as (chat, _):
            await chat.start()
            result = await chat.result(wait_secs=10)
    assert (result.ended_by, result.end_reason) == ("system", "error")
    assert result.error is not None
    assert "(invalid_api_key), Incorrect API key provided." in result.error, result.error
    assert "realtime model 'gpt-realtime'" in result.error and "sk-" not in result.error
    assert result.duration_secs < 3


async def test_an_error_instead_of_the_opening_ends_the_call_at_once(
    model: FakeOpenAIRealtime,
) -> None:
    """On a phone call the model says a static opening; when the API answers that
    request with an error, the call ends in error without waiting for those words."""
    model.fail_next_response("rate_limit_exceeded", "Too many requests.")
    async with realtime_call(
        model, first_sentence_mode="static", audio=AudioLegs(speech_to_speech=True)
    ) as (chat, _):
        await chat.start()
        result = await chat.result(wait_secs=10)
    assert (result.ended_by, result.end_reason) == ("system", "error")
    assert result.error is not None and "(rate_limit_exceeded), Too many" in result.error
    assert result.duration_secs < 3


async def test_no_key_ends_the_call_before_it_starts_naming_the_setting(
    model: FakeOpenAIRealtime,
) -> None:
    settings = Settings(openai_api_key=None)  # OpenAI's own Realtime URL: a key is needed
    async with realtime_call(model, settings=settings) as (chat, _):
        await chat.start()
        result = await chat.result()
    assert result.end_reason == "error"
    assert result.error is not None and "OPENREVOX_OPENAI_API_KEY" in result.error
    assert model.headers == []


async def test_another_realtime_provider_is_refused(model: FakeOpenAIRealtime) -> None:
    google = {**REALTIME, "provider": "google", "realtime_model_id": "gemini-live"}
    async with realtime_call(model, llm_model=google) as (chat, _):
        await chat.start()
        result = await chat.result()
    assert result.error is not None and "realtime provider 'google'" in result.error
    assert model.headers == []


async def test_a_warm_transfer_is_briefed_by_the_text_model(model: FakeOpenAIRealtime) -> None:
    """A realtime model only converses: the briefing comes from the server's chat model
    (``openai_realtime_text_model`` on the OpenAI endpoint, same key)."""
    model.add(say("Hi Ann!"), call("transfer_call", destination="Support"))
    support = {"label": "Support", "phone_number": "+33612345671"}
    with FakeOpenAI(default="Ann disputes invoice 42.") as chat_model:
        settings = realtime_settings(model.url, openai_base_url=chat_model.base_url)
        async with realtime_call(
            model,
            settings=settings,
            transfer_destinations=[{"label": "Sales", "phone_number": "+33612345670"}, support],
            human_transfer_mode="warm",
            warm_transfer_summary_instructions="Brief the agent in one sentence.",
        ) as (chat, transport):
            await chat.start()
            await chat.say("My invoice is wrong")
            result = await chat.result()
    assert result.transfer is not None
    assert (result.transfer.label, result.transfer.mode) == ("Support", "warm")
    assert result.transfer.summary == "Ann disputes invoice 42."
    assert transport.transfers == [result.transfer]
    (briefing,) = chat_model.requests
    assert briefing.body["model"] == "gpt-4.1-mini"
    assert briefing.headers["authorization"] == "Bearer sk-rt"
    assert "Brief the agent in one sentence." in briefing.system_prompt
    assert "My invoice is wrong" in briefing.messages[-1]["content"]
