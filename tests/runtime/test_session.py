"""A call session over the text transport against the fake OpenAI server (real HTTP)."""

from __future__ import annotations

from openrevox.runtime.clock import ScaledClock
from openrevox.testing.fake_openai import FakeOpenAI, Reply, call, say
from tests.runtime.conftest import call as start_call


async def test_generated_opening_is_written_by_the_llm(llm: FakeOpenAI) -> None:
    llm.add(say("Hi Ann, this is Ava from Acme. Is now a good time?"))
    async with start_call(llm) as c:
        assert await c.chat.start() == ["Hi Ann, this is Ava from Acme. Is now a good time?"]
        first = llm.requests[0]
        assert first.body["stream"] is True
        assert first.body["model"] == "gpt-4.1"
        assert first.headers["authorization"] == "Bearer test-key"
        assert "calling Ann about their order" in first.system_prompt
        assert "You speak first. Greet Ann and ask if now is a good time." in first.system_prompt
        assert {"end_call", "record_unanswered_question"} <= set(first.tool_names)


async def test_static_opening_is_said_exactly_and_joins_the_context(llm: FakeOpenAI) -> None:
    llm.add(say("Great, let's talk about it."))
    async with start_call(
        llm, first_sentence_mode="static", first_sentence="Hello {{name}}, Ava here."
    ) as c:
        assert await c.chat.start() == ["Hello Ann, Ava here."]
        assert llm.requests == []  # no LLM needed to open
        assert await c.chat.say("Hi Ava") == ["Great, let's talk about it."]
        messages = llm.requests[0].messages
        assert messages[-2:] == [
            {"role": "assistant", "content": "Hello Ann, Ava here."},
            {"role": "user", "content": "Hi Ava"},
        ]


async def test_none_opening_waits_for_the_callee(llm: FakeOpenAI) -> None:
    llm.add(say("Hello! Ava from Acme."))
    async with start_call(llm, first_sentence_mode="none") as c:
        assert await c.chat.start() == []
        assert llm.requests == []
        assert await c.chat.say("Hello?") == ["Hello! Ava from Acme."]
        assert "The callee speaks first" in llm.requests[0].system_prompt


async def test_end_call_says_the_end_sentence_then_hangs_up(llm: FakeOpenAI) -> None:
    llm.add(say("Hi Ann!"), call("end_call", "Understood.", reason="not interested"))
    async with start_call(llm, end_of_call_sentence="Goodbye {{name}}, have a nice day.") as c:
        await c.chat.start()
        replies = await c.chat.say("Not interested, bye.")
        assert replies == ["Understood.", "Goodbye Ann, have a nice day."]
        result = await c.chat.result()
    assert (result.ended_by, result.end_reason, result.error) == ("agent", "tool_end_call", None)
    assert result.wire_end_reason == "tool_end_call"
    assert c.transport.hung_up
    roles = [(i.role, i.tool_name or i.content) for i in result.transcript]
    assert roles == [
        ("assistant", "Hi Ann!"),
        ("user", "Not interested, bye."),
        ("tool", "end_call"),
        ("assistant", "Understood."),
        ("assistant", "Goodbye Ann, have a nice day."),
    ] or roles == [
        ("assistant", "Hi Ann!"),
        ("user", "Not interested, bye."),
        ("assistant", "Understood."),
        ("tool", "end_call"),
        ("assistant", "Goodbye Ann, have a nice day."),
    ]
    tool = next(i for i in result.transcript if i.role == "tool")
    assert tool.tool_arguments == {"reason": "not interested"}
    assert tool.tool_is_error is False
    assert len(llm.requests) == 2  # the LLM does not answer after end_call


async def test_transcript_and_speech_events(llm: FakeOpenAI) -> None:
    llm.add(say("Hi Ann!"), say("Your order ships today."))
    async with start_call(llm) as c:
        await c.chat.start()
        await c.chat.say("Where is my order?")
        result = await c.chat.hang_up()
    assert (result.ended_by, result.end_reason) == ("user", "user_hangup")
    assert result.wire_end_reason is None
    assert not c.transport.hung_up  # the callee hung up; nothing to hang up
    assert [i.as_wire() for i in result.transcript] == [
        {
            "role": "assistant",
            "content": "Hi Ann!",
            "tool_name": None,
            "tool_arguments": None,
            "tool_output": None,
            "tool_is_error": None,
        },
        {
            "role": "user",
            "content": "Where is my order?",
            "tool_name": None,
            "tool_arguments": None,
            "tool_output": None,
            "tool_is_error": None,
        },
        {
            "role": "assistant",
            "content": "Your order ships today.",
            "tool_name": None,
            "tool_arguments": None,
            "tool_output": None,
            "tool_is_error": None,
        },
    ]
    events = result.speech_events
    assert [(e.speaker, e.transcript) for e in events] == [
        ("agent", "Hi Ann!"),
        ("user", "Where is my order?"),
        ("agent", "Your order ships today."),
    ]
    agent = events[2]
    assert agent.llm_ttft_ms is not None and agent.llm_ttft_ms > 0
    assert agent.was_cut is False and agent.tts_ttfb_ms is None
    assert events[1].was_cut is None and events[1].llm_ttft_ms is None
    starts = [e.started_speaking_at_ms for e in events]
    assert starts == sorted(starts)
    assert set(events[0].as_wire()) >= {"id", "speaker", "started_speaking_at_ms", "was_cut"}


async def test_max_duration_says_its_message_and_hangs_up(llm: FakeOpenAI) -> None:
    llm.add(say("Hi Ann!"))
    clock = ScaledClock(10)  # 30 s of call time pass in 3 s
    async with start_call(
        llm,
        clock=clock,
        max_call_duration_secs=30,
        max_duration_end_message="Sorry {{name}}, we are out of time.",
    ) as c:
        await c.chat.start()
        result = await c.chat.result(wait_secs=10)
    assert (result.ended_by, result.end_reason) == ("system", "max_duration")
    assert c.transport.utterances[-1] == "Sorry Ann, we are out of time."
    assert result.transcript[-1].content == "Sorry Ann, we are out of time."
    assert c.transport.hung_up
    assert 29 <= result.duration_secs < 60


async def test_callee_silence_ends_the_call_as_user_inactive(llm: FakeOpenAI) -> None:
    llm.add(say("Hi Ann, are you there?"))
    async with start_call(llm, clock=ScaledClock(100), user_inactivity_secs=10) as c:
        await c.chat.start()
        result = await c.chat.result(wait_secs=10)
    assert (result.ended_by, result.end_reason) == ("agent", "user_inactive")
    assert c.transport.hung_up


async def test_talking_keeps_an_inactive_timer_away(llm: FakeOpenAI) -> None:
    llm.add(say("Hi!"), say("Sure."), say("Of course."))
    async with start_call(llm, clock=ScaledClock(10), user_inactivity_secs=3) as c:
        await c.chat.start()
        assert await c.chat.say("One thing") == ["Sure."]
        assert await c.chat.say("Another") == ["Of course."]
        assert not c.chat.ended


async def test_unanswered_questions_become_faq_candidates(llm: FakeOpenAI) -> None:
    llm.add(
        say("Hi Ann!"),
        call("record_unanswered_question", question="Do you deliver to Corsica?"),
        say("Good question, a colleague will get back to you."),
    )
    async with start_call(llm) as c:
        await c.chat.start()
        replies = await c.chat.say("Do you deliver to Corsica?")
        assert replies == ["Good question, a colleague will get back to you."]
        result = await c.chat.hang_up()
    (candidate,) = result.faq_candidates
    assert candidate.question == "Do you deliver to Corsica?"
    assert (candidate.needs_human_answer, candidate.source, candidate.answer) == (True, "ai", "")
    tool_result = llm.requests[-1].messages[-1]
    assert tool_result["role"] == "tool" and "recorded" in tool_result["content"]


async def test_a_slow_reply_after_a_tool_result_is_waited_for(llm: FakeOpenAI) -> None:
    """The LLM runs again once a tool's result is in: ``say`` waits for that reply too
    (the request starts from the assistant aggregator, not from the callee's turn)."""
    llm.add(
        Reply(text="Hi Ann!", delay=0.3),
        call("record_unanswered_question", question="Is it vegan?"),
        Reply(text="I will ask a colleague.", delay=0.3),
    )
    async with start_call(llm) as c:
        assert await c.chat.start() == ["Hi Ann!"]
        assert await c.chat.say("Is it vegan?") == ["I will ask a colleague."]
        assert not c.session._recorder.busy  # type: ignore[union-attr]
