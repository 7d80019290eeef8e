"""The real call session (``CallSession``) over the Twilio media stream, with local speech
(wired as for a phone call: ``session_server``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openrevox.providers.stt.local_pocketsphinx import transcribe
from openrevox.runtime.result import TranscriptItem
from openrevox.testing.fake_openai import FakeOpenAI, call, say

from .conftest import local_speech_settings, share_heard
from .contention import CpuContention
from .session_server import SessionCall, SessionServer, session_server
from .twilio_peer import (
    TWILIO_RATE,
    caller_speech,
    silence,
    speech_secs,
    tone,
)

SAY = __import__("os").environ.get("SAY") == "1"
ASSISTANT: dict[str, Any] = {
    "id": "asst-audio",
    "prompt": "You are Ava from the dental clinic.",
    "first_sentence_mode": "static",
    "first_sentence": "Hello, I am calling about your appointment for tomorrow morning.",
    "first_sentence_delay_ms": 0,
}


Server = SessionServer[FakeOpenAI]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with FakeOpenAI() as llm:
        settings = local_speech_settings(
            openai_base_url=llm.base_url,
            openai_api_key="test-key",
            llm_max_retries=0,
            user_inactivity_timeout_secs=0,
            recordings_dir=tmp_path_factory.mktemp("recordings"),
        )
        with session_server(settings, ASSISTANT, llm) as server:
            yield server


async def test_end_call_says_the_end_sentence_then_hangs_up(server: Server, tmp_path: Path) -> None:
    server.model.add(call("end_call", reason="not interested"))
    this = SessionCall(
        # A sentence pocketsphinx hears well whatever the 20 ms framing ("have a nice
        # day" is misheard at some alignments).
        {"end_of_call_sentence": "Thank you for calling, have a wonderful afternoon."},
        tmp_path / "end-call.wav",
    )
    goodbye = caller_speech("I am not interested, goodbye.")
    async with server.dial("end-call", this) as phone:
        greeted = await phone.wait_for_speech(within=15)
        # The whole opening, even if the server's audio stalled on a busy machine.
        await phone.wait_for_audio(0.9 * speech_secs(ASSISTANT["first_sentence"]), since=greeted)
        await phone.wait_for_quiet(quiet_secs=0.6)
        spoke_at = await phone.say(goodbye)
        await asyncio.wait_for(phone.closed.wait(), 20)  # the server hung up
        hung_up = time.monotonic()
    opening = transcribe(phone.heard(greeted, spoke_at), TWILIO_RATE)
    assert share_heard({"calling", "appointment", "tomorrow", "morning"}, opening) >= 0.75, opening
    farewell = transcribe(phone.heard(spoke_at + 1.0, hung_up), TWILIO_RATE)
    assert share_heard({"thank", "calling", "wonderful", "afternoon"}, farewell) >= 0.5, farewell

    result = await this.outcome()
    assert (result.ended_by, result.end_reason, result.error) == ("agent", "tool_end_call", None)
    said = [(item.role, item.tool_name or item.content) for item in result.transcript]
    assert said[0] == ("assistant", ASSISTANT["first_sentence"])
    # The caller's words as heard (the VAD may split them at the comma, and a word cut
    # at a segment's edge is misheard: "i am not entered it goodbye").
    assert said[1][0] == "user"
    assert share_heard({"not", "interested", "goodbye"}, said[1][1]) >= 0.6, said
    assert ("tool", "end_call") in said
    assert said[-1] == ("assistant", "Thank you for calling, have a wonderful afternoon.")
    speakers = [event.speaker for event in result.speech_events]
    assert speakers[:2] == ["agent", "user"] and speakers[-1] == "agent"
    assert all(e.stt_transcription_delay_ms for e in result.speech_events if e.speaker == "user")
    assert this.audio is not None and this.audio.recorder is not None
    assert this.recording.exists() and this.recording.stat().st_size > 8000 * 4 * 3


async def test_max_duration_says_its_message_over_the_caller(
    server: Server, tmp_path: Path
) -> None:
    this = SessionCall(
        {
            "max_call_duration_secs": 5,
            "max_duration_end_message": "I am sorry, but our time is up. Thank you for calling.",
        },
        tmp_path / "max-duration.wav",
    )
    # (No scripted reply: time runs out while the caller talks, before the LLM is asked;
    # one left unused would answer the next test's call.)
    talking = caller_speech("I have a question about my appointment next week please.")
    async with server.dial("max-duration", this) as phone:
        await phone.wait_for_speech(within=15)
        await phone.wait_for_quiet(quiet_secs=0.6)
        await phone.say(talking)  # the caller is still talking when time runs out
        await asyncio.wait_for(phone.closed.wait(), 20)
    result = await this.outcome()
    assert (result.ended_by, result.end_reason) == ("system", "max_duration")
    heard = transcribe(phone.heard(since=phone.received[-1].at - 4.0), TWILIO_RATE)
    assert share_heard({"sorry", "time", "thank", "calling"}, heard) >= 0.5, heard
    message = "I am sorry, but our time is up. Thank you for calling."
    assert result.transcript[-1] == TranscriptItem("assistant", message)
    last = result.speech_events[-1]  # the message, over the caller
    assert (last.speaker, last.transcript) == ("agent", message)


async def test_a_silent_caller_is_left_after_the_inactivity_timeout(
    server: Server, tmp_path: Path, contention: CpuContention
) -> None:
    """Once the agent has answered and said it all, silence counts: the call ends 3 s
    after (the agent is no longer busy once its reply has played)."""
    this = SessionCall({}, tmp_path / "inactive.wav", inactivity_secs=3)
    server.model.add(say("Yes, I can hear you very well."))
    async with server.dial("inactive", this) as phone:
        greeted = await phone.wait_for_speech(within=15)
        await phone.wait_for_audio(0.9 * speech_secs(ASSISTANT["first_sentence"]), since=greeted)
        spoke_at = await phone.say(caller_speech("Hello? Can you hear me?"))
        replied = await phone.wait_for_speech(after=spoke_at + 1.0)
        await phone.wait_for_audio(
            0.9 * speech_secs("Yes, I can hear you very well."), since=replied
        )
        reply_over = await phone.wait_for_quiet(quiet_secs=0.3)
        await asyncio.wait_for(phone.closed.wait(), 20)
        hung_up = time.monotonic()
    result = await this.outcome()
    assert (result.ended_by, result.end_reason) == ("agent", "user_inactive"), result
    assert 3.0 - 0.5 < hung_up - reply_over < 3.0 + 1.5 * contention.factor(reply_over, hung_up)
    assert result.transcript[-1] == TranscriptItem("assistant", "Yes, I can hear you very well.")


async def test_max_duration_message_is_in_the_transcript(server: Server, tmp_path: Path) -> None:
    """The message said after interrupting the agent (in its opening, about 8 s long) is
    recorded, in the transcript and as the last agent speech event, like any turn."""
    this = SessionCall(
        {
            "max_call_duration_secs": 4,
            "max_duration_end_message": "Our time is up.",
            "first_sentence": "Hello, I am calling about your appointment for tomorrow "
            "morning at the dental clinic, and I would like to go through a few details.",
        },
        tmp_path / "max-duration-transcript.wav",
    )
    async with server.dial("max-duration-transcript", this) as phone:
        await asyncio.wait_for(phone.closed.wait(), 20)
    result = await this.outcome()
    assert result.end_reason == "max_duration"
    assert result.transcript[-1].content == "Our time is up."
    opening, last = result.speech_events[0], result.speech_events[-1]
    assert (opening.speaker, opening.was_cut) == ("agent", True)
    assert (last.speaker, last.transcript, last.was_cut) == ("agent", "Our time is up.", False)


VOICEMAIL_GREETING = (
    "Hi, you have reached the voicemail of John Smith. I am not available right now. "
    "Please leave a message after the tone."
)
VOICEMAIL_MESSAGE = (
    "This is a message about your appointment tomorrow morning. Please call us back, thank you."
)


async def test_a_voicemail_gets_the_message_after_the_beep(
    server: Server, tmp_path: Path, contention: CpuContention
) -> None:
    """The callee's side is an answering machine: greeting, then a 1 kHz beep. The agent
    stops, waits for the beep to end, says the message and hangs up."""
    this = SessionCall({"voicemail_message": VOICEMAIL_MESSAGE}, tmp_path / "voicemail.wav")
    requests_before = len(server.model.requests)
    greeting = caller_speech(VOICEMAIL_GREETING)
    async with server.dial("voicemail", this) as phone:
        await asyncio.sleep(0.5)
        await phone.say(greeting + silence(0.6))
        beep_started = await phone.say(tone(1000.0, 0.5))
        beep_ended = time.monotonic()
        await asyncio.wait_for(phone.closed.wait(), 25)  # the server hung up
        hung_up = time.monotonic()
    result = await this.outcome()
    assert (result.ended_by, result.end_reason, result.wire_end_reason) == (
        "agent",
        "voicemail",
        "voicemail",
    )
    assert result.voicemail_reason is not None, result
    assert result.transcript[-1] == TranscriptItem("assistant", VOICEMAIL_MESSAGE)
    assert [item.role for item in result.transcript][-2:] == ["user", "assistant"], result
    assert result.engines == {"tts": "local-piper", "stt": "local-pocketsphinx"}
    assert len(server.model.requests) == requests_before  # no answer to a machine
    # Nothing was said over the beep; the message came once it was over.
    spoken = [t for t in phone.speech_times() if t > beep_started]
    assert spoken and spoken[0] > beep_ended, (spoken[:1], beep_ended)
    assert spoken[0] - beep_ended < 2.0 * contention.factor(beep_ended, spoken[0])
    heard = transcribe(phone.heard(since=beep_ended, until=hung_up), TWILIO_RATE)
    expected = {"message", "appointment", "tomorrow", "morning", "back", "thank"}
    assert share_heard(expected, heard) >= 0.5, heard


async def test_a_voicemail_without_a_message_is_hung_up_at_once(
    server: Server, tmp_path: Path
) -> None:
    this = SessionCall(
        {"voicemail_message": None, "first_sentence_mode": "none"},
        tmp_path / "voicemail-hangup.wav",
    )
    greeting = caller_speech(VOICEMAIL_GREETING)
    async with server.dial("voicemail-hangup", this) as phone:
        await asyncio.sleep(0.5)
        await phone.say(greeting)
        # Then its beep: either decides it (the recogniser may miss the phrase). The
        # server may hang up meanwhile, so the beep is not waited for.
        beep = asyncio.create_task(phone.say(silence(0.6) + tone(1000.0, 0.5)))
        try:
            await asyncio.wait_for(phone.closed.wait(), 30)
        finally:
            beep.cancel()
    result = await this.outcome()
    assert (result.ended_by, result.end_reason) == ("agent", "voicemail"), result
    reason = result.voicemail_reason or ""
    assert reason.startswith("greeting phrase: ") or reason == "beep", result
    # Hung up as soon as the greeting was understood: not a word said, no turn taken.
    assert phone.speech_times() == []
    assert [item.role for item in result.transcript] == ["user"] * len(result.transcript)
    assert {event.speaker for event in result.speech_events} == {"user"}
