"""Voicemail detection: the classifier, the tracker's timing, and sessions over text."""

from __future__ import annotations

import asyncio

import pytest

from openrevox.runtime.clock import ScaledClock
from openrevox.runtime.voicemail import VoicemailParams, classify
from openrevox.runtime.voicemail.classify import normalize
from openrevox.runtime.voicemail.tracker import (
    Detected,
    GreetingOver,
    Human,
    VoicemailTracker,
)
from openrevox.testing.fake_openai import FakeOpenAI, say
from tests.runtime.conftest import call as start_call

VOICEMAIL_GREETINGS = [
    "Hi, you've reached Ann. Please leave a message after the tone.",
    "hi you have reached ann please leave a message after the tone",  # recogniser style
    "Hello, this is Bob. I can't take your call right now. Leave your name and number.",
    "The person you are calling is not available. Please leave a message.",
    "Your call has been forwarded to an automatic voice message system.",
    "The Vodafone customer you have dialled is unavailable.",
    "Sorry I missed you, I'm away from my desk. I'll get back to you as soon as I can.",
    "This is the voicemail of Dr. Smith's office.",
    "The mailbox is full and cannot accept any messages.",
    "Record your message at the beep.",
    "Hi, it's Sam. I'm not available at the moment.",
    "I am unable to answer the phone. When you have finished recording, hang up.",
    "Hey, it’s Jo — can’t pick up the phone, call you back shortly.",
]

HUMAN_OPENINGS = [
    "Hello?",
    "Yes, who is this?",
    "Hi, Ann speaking.",
    "Hello, how can I help you?",
    "Yeah?",
    "Good morning, Acme dental clinic, what is this regarding?",
    "Hello, yes, I was waiting for your call about the delivery.",
    "Sorry, can you call back later? I'm driving.",
]


@pytest.mark.parametrize("greeting", VOICEMAIL_GREETINGS)
def test_voicemail_greetings_are_voicemail(greeting: str) -> None:
    result = classify(greeting)
    assert result.verdict == "voicemail", result
    assert result.reason.startswith("greeting phrase: ")


@pytest.mark.parametrize("opening", HUMAN_OPENINGS)
def test_a_person_answering_is_not_voicemail(opening: str) -> None:
    assert classify(opening, final=True).verdict == "human"
    assert classify(opening, speech_secs=2.0).verdict in {"human", "unsure"}


def test_until_the_callee_has_paused_an_ordinary_opening_is_unsure() -> None:
    # A greeting often starts as a person would: only the pause that follows tells.
    assert classify("Hi, this is Ann").verdict == "unsure"
    assert classify("Hi, this is Ann", final=True).verdict == "human"
    assert classify("Hi, this is Ann. Leave a message.").verdict == "voicemail"


def test_a_beep_or_a_monologue_is_voicemail() -> None:
    assert classify("", beep=True) == classify("hello", beep=True)
    assert classify("", beep=True).reason == "beep"
    talk = "thanks for calling the clinic our hours are nine to five monday to friday"
    assert classify(talk, speech_secs=11.0).verdict == "voicemail"
    assert classify(talk, speech_secs=11.0).reason == "monologue of 11 s"
    assert classify(talk, speech_secs=4.0).verdict == "unsure"
    # A person may talk on, but asks the caller something.
    assert classify(talk + " who is this", speech_secs=11.0).verdict == "human"


def test_normalization() -> None:
    assert normalize("You’ve reached ANN!  I can't…") == "you have reached ann i can not"


def params(**overrides: float) -> VoicemailParams:
    return VoicemailParams(**overrides)  # type: ignore[arg-type]


def test_tracker_detects_a_greeting_phrase_at_once_then_waits_for_the_greeting_end() -> None:
    t = VoicemailTracker(params(), now=0.0)
    t.speech_started(0.5)
    assert t.transcript("hi you have reached ann", 2.0) == Detected(
        classify("hi you have reached ann")
    )
    assert t.state == "detected"
    t.speech_stopped(4.0)
    assert t.tick(5.9) is None  # 1.9 s of silence: the greeting may go on
    assert t.tick(6.05) == GreetingOver("silence")
    assert t.state == "done" and t.heard == ["hi you have reached ann"]


def test_tracker_leaves_the_message_after_the_beep() -> None:
    t = VoicemailTracker(params(), now=0.0)
    t.speech_started(0.2)
    t.transcript("please leave a message", 3.0)
    t.speech_stopped(3.1)
    t.beep_started(3.8)
    t.beep_ended(4.2)
    assert t.tick(4.4) is None
    assert t.tick(4.55) == GreetingOver("beep")


def test_tracker_takes_the_answering_machine_verdict() -> None:
    t = VoicemailTracker(params(), now=0.0)
    t.speech_started(0.5)
    event = t.machine_answered("machine_start", 1.0, greeting_over=False)
    assert isinstance(event, Detected)
    assert event.classification.reason == "answering machine: machine_start"
    assert t.machine_answered("machine_end_beep", 1.5, greeting_over=True) is None  # once
    t.speech_stopped(6.0)  # the greeting goes on, then silence
    assert t.tick(7.9) is None
    assert t.tick(8.05) == GreetingOver("silence")

    ended = VoicemailTracker(params(), now=0.0)
    assert isinstance(ended.machine_answered("machine_end_beep", 9.0, greeting_over=True), Detected)
    assert ended.tick(9.2) is None
    assert ended.tick(9.35) == GreetingOver("beep")  # the greeting is over: message now


def test_tracker_a_person_already_decided_stays_a_person() -> None:
    t = VoicemailTracker(params(decision_silence_secs=1.0), now=0.0)
    t.speech_started(1.0)
    t.transcript("who is this?", 1.5)
    assert t.state == "done"
    assert t.machine_answered("machine_start", 2.0, greeting_over=False) is None


def test_tracker_a_beep_alone_is_a_voicemail() -> None:
    t = VoicemailTracker(params(), now=0.0)
    event = t.beep_started(1.0)
    assert isinstance(event, Detected) and event.classification.reason == "beep"


def test_tracker_a_short_answer_then_a_pause_is_a_person() -> None:
    t = VoicemailTracker(params(decision_silence_secs=1.0), now=0.0)
    t.speech_started(1.0)
    t.speech_stopped(1.6)
    assert t.tick(2.0) is None  # no transcript yet, not quiet long enough
    assert t.transcript("hello", 2.1) is None  # unsure: the callee may go on
    assert t.tick(2.9) is None
    event = t.tick(3.15)
    assert isinstance(event, Human) and t.state == "done"
    assert t.transcript("please leave a message", 9.0) is None  # detection is over


def test_tracker_a_pause_inside_a_greeting_is_not_the_end() -> None:
    t = VoicemailTracker(params(decision_silence_secs=1.0), now=0.0)
    t.speech_started(0.3)
    t.speech_stopped(1.0)
    t.transcript("hi this is ann", 1.4)
    t.speech_started(1.6)  # 0.6 s pause, less than the decision silence
    assert t.tick(1.9) is None
    t.speech_stopped(4.0)
    assert isinstance(t.transcript("i can not take your call", 4.5), Detected)


def test_tracker_a_monologue_is_a_voicemail_before_it_ends() -> None:
    t = VoicemailTracker(params(monologue_secs=8.0), now=0.0)
    t.speech_started(0.5)
    t.speech_stopped(4.0)
    t.transcript("thanks for calling our office", 4.3)
    t.speech_started(4.5)
    assert t.tick(8.0) is None  # 7 s
    event = t.tick(9.1)  # 8.1 s
    assert isinstance(event, Detected) and event.classification.reason == "monologue of 8 s"


def test_tracker_without_a_transcript_decides_after_the_grace() -> None:
    t = VoicemailTracker(params(decision_silence_secs=1.0, transcript_grace_secs=2.0), now=0.0)
    t.speech_started(0.5)
    t.speech_stopped(1.0)  # a sound the recogniser made nothing of
    assert t.tick(3.4) is None  # grace: 2 s + the 0.5 s of speech to decode
    assert isinstance(t.tick(3.55), Human)


def test_tracker_waits_longer_for_the_words_of_a_long_speech() -> None:
    t = VoicemailTracker(params(decision_silence_secs=1.0, transcript_grace_secs=2.0), now=0.0)
    t.speech_started(0.5)
    t.speech_stopped(7.5)  # 7 s of greeting, decoded slowly
    assert t.tick(16.4) is None
    event = t.transcript("you have reached john please leave a message", 16.0)
    assert isinstance(event, Detected)


def test_tracker_silence_through_the_window_is_a_person_waiting() -> None:
    t = VoicemailTracker(params(window_secs=15.0), now=100.0)
    assert t.tick(114.9) is None
    event = t.tick(115.05)
    assert isinstance(event, Human) and event.classification.reason == "nothing said"


def test_tracker_gives_up_waiting_for_the_greeting_end() -> None:
    t = VoicemailTracker(params(max_greeting_wait_secs=30.0), now=0.0)
    t.speech_started(0.0)
    t.transcript("you have reached the voicemail of ann", 2.0)
    assert t.tick(31.0) is None
    assert t.tick(32.0) == GreetingOver("timeout")  # the callee's side never went quiet


# ---- sessions over text ----

GREETING = "Hi, you've reached Ann Smith. I can't take your call, please leave a message."


async def test_a_voicemail_greeting_gets_the_message_then_a_hang_up(llm: FakeOpenAI) -> None:
    llm.add(say("Hello Ann, this is Ava from Acme."))
    async with start_call(
        llm,
        clock=ScaledClock(10),
        voicemail_message="Hi {{name}}, Ava from Acme here. Please call us back.",
    ) as c:
        assert await c.chat.start() == ["Hello Ann, this is Ava from Acme."]
        replies = await c.chat.say(GREETING)
        result = await c.chat.result()
    assert replies == ["Hi Ann, Ava from Acme here. Please call us back."]
    assert (result.ended_by, result.end_reason, result.wire_end_reason) == (
        "agent",
        "voicemail",
        "voicemail",
    )
    assert result.voicemail_reason == "greeting phrase: leave a message"
    assert c.transport.hung_up
    assert len(llm.requests) == 1  # the agent never answered the greeting
    assert [(i.role, i.content) for i in result.transcript] == [
        ("assistant", "Hello Ann, this is Ava from Acme."),
        ("user", GREETING),
        ("assistant", "Hi Ann, Ava from Acme here. Please call us back."),
    ]
    agent = [e for e in result.speech_events if e.speaker == "agent"]
    assert agent[-1].transcript == "Hi Ann, Ava from Acme here. Please call us back."
    assert result.engines == {}  # text: no speech engine


async def test_an_answering_machine_verdict_leaves_the_message(llm: FakeOpenAI) -> None:
    """The telephony provider's answering-machine detection (Twilio's AnsweredBy) takes
    the voicemail path: the agent stops, says the message once the greeting is over."""
    llm.add(say("Hello Ann, this is Ava from Acme."))
    async with start_call(
        llm,
        clock=ScaledClock(10),
        voicemail_message="Hi {{name}}, Ava from Acme here. Please call us back.",
    ) as c:
        assert await c.chat.start() == ["Hello Ann, this is Ava from Acme."]
        await c.session.machine_answered("machine_end_beep")
        result = await c.chat.result()
    assert (result.ended_by, result.end_reason) == ("agent", "voicemail")
    assert result.voicemail_reason == "answering machine: machine_end_beep"
    assert c.transport.utterances[-1] == "Hi Ann, Ava from Acme here. Please call us back."
    assert c.transport.hung_up and len(llm.requests) == 1


async def test_without_a_voicemail_message_the_agent_hangs_up_at_once(llm: FakeOpenAI) -> None:
    async with start_call(llm, first_sentence_mode="none", voicemail_message=None) as c:
        assert await c.chat.start() == []
        assert await c.chat.say("You have reached the voicemail of Ann.") == []
        result = await c.chat.result()
    assert (result.ended_by, result.end_reason) == ("agent", "voicemail")
    assert c.transport.hung_up and c.transport.utterances == [] and llm.requests == []


async def test_a_person_answering_is_talked_to_and_detection_ends(llm: FakeOpenAI) -> None:
    llm.add(say("Hi Ann! Ava from Acme here."), say("Sure, I will call back tomorrow."))
    async with start_call(
        llm, first_sentence_mode="none", clock=ScaledClock(10), voicemail_message="Call us."
    ) as c:
        await c.chat.start()
        assert await c.chat.say("Hello? Who is this?") == ["Hi Ann! Ava from Acme here."]
        # Said by a person in the conversation, it is no greeting.
        assert await c.chat.say("I am not available now, leave a message with my wife.") == [
            "Sure, I will call back tomorrow."
        ]
        assert not c.chat.ended
        result = await c.chat.hang_up()
    assert result.end_reason == "user_hangup" and result.voicemail_reason is None


async def test_detection_can_be_turned_off(llm: FakeOpenAI) -> None:
    from openrevox.runtime.call_config import resolve_call_config
    from openrevox.runtime.session import CallSession
    from openrevox.runtime.transports.text import TextConversation, TextTransport
    from tests.runtime.conftest import ASSISTANT, settings_for

    llm.add(say("Hello, Ava from Acme."))
    config = resolve_call_config(
        {**ASSISTANT, "first_sentence_mode": "none", "voicemail_message": "Call us."},
        {"name": "Ann"},
        user_inactivity_secs=0,
    )
    transport = TextTransport()
    session = CallSession(config, transport, settings=settings_for(llm), voicemail=None)
    chat = TextConversation(session, transport)
    await chat.start()
    assert await chat.say("You have reached Ann, leave a message.") == ["Hello, Ava from Acme."]
    result = await chat.hang_up()
    assert result.end_reason == "user_hangup"


async def test_a_voicemail_during_the_opening_delay_gets_no_opening(llm: FakeOpenAI) -> None:
    async with start_call(
        llm,
        clock=ScaledClock(10),
        first_sentence_mode="static",
        first_sentence="Hello {{name}}, Ava from Acme.",
        first_sentence_delay_ms=3000,  # 0.3 s here
        voicemail_message="Please call Acme back.",
    ) as c:
        await c.chat.start(wait_secs=0.01)
        await asyncio.wait_for(c.session._started.wait(), 10)
        await c.transport.send_text("Hi, this is Ann's voicemail.")
        result = await c.chat.result()
    assert c.transport.utterances == ["Please call Acme back."]
    assert result.end_reason == "voicemail" and llm.requests == []
