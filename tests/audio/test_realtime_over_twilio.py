"""A call on a realtime (speech-to-speech) model over the Twilio media stream.

The fake Twilio client streams piper speech to the real WebSocket endpoint; the session
sends the caller's audio to the fake of OpenAI's Realtime API (loopback WebSocket),
whose VAD ends the caller's turns and whose replies are piper speech at 24 kHz; the
client hears them on the phone line and pocketsphinx checks the words. No STT, TTS or
VAD of ours runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openrevox.providers.stt.local_pocketsphinx import transcribe
from openrevox.providers.tts.local_piper import synthesize
from openrevox.runtime.audio.pcm import resample_pcm16
from openrevox.testing.fake_openai import call, say
from openrevox.testing.fake_openai_realtime import SAMPLE_RATE, FakeOpenAIRealtime

from .conftest import (
    AGENT_SAYS,
    AGENT_WORDS,
    CALLER_SAYS,
    hold_booking,
    local_speech_settings,
    share_heard,
)
from .session_server import SessionCall, SessionServer, session_server
from .twilio_peer import (
    TWILIO_RATE,
    caller_speech,
    silence,
    speech_secs,
    tone,
)

OPENING = "Hello, I am calling about your appointment for tomorrow morning."
FAREWELL = "Thank you for calling, have a wonderful afternoon."
ASSISTANT: dict[str, Any] = {
    "id": "asst-realtime",
    "prompt": "You are Ava from the dental clinic.",
    "first_sentence_mode": "static",
    "first_sentence": OPENING,
    "first_sentence_delay_ms": 0,
    "llm_model": {
        "type": "realtime",
        "provider": "openai",
        "realtime_model_id": "gpt-realtime",
        "realtime_voice_id": "marin",
    },
}


def piper_voice(text: str) -> bytes:
    """The model's voice: piper, at the Realtime API's 24 kHz."""
    pcm, rate = synthesize(text)
    return resample_pcm16(pcm, rate, SAMPLE_RATE)


Server = SessionServer[FakeOpenAIRealtime]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with FakeOpenAIRealtime(voice=piper_voice, silence_secs=0.7) as model:
        settings = local_speech_settings(
            openai_api_key="sk-rt",
            openai_realtime_url=model.url,
            user_inactivity_timeout_secs=0,
        )
        with session_server(settings, ASSISTANT, model) as server:
            yield server


async def test_a_realtime_model_holds_the_call_and_ends_it(server: Server, tmp_path: Path) -> None:
    model = server.model
    model.add(say(OPENING))  # asked to say the static first sentence word for word
    model.hears(CALLER_SAYS, "No thank you, goodbye.")
    model.add(say(AGENT_SAYS), call("end_call", reason="done"), say(FAREWELL))
    this = SessionCall({"end_of_call_sentence": FAREWELL}, tmp_path / "realtime.wav")
    async with server.dial("conversation", this) as phone:
        greeted = await phone.wait_for_speech(within=15)
        await phone.wait_for_audio(0.9 * speech_secs(OPENING), since=greeted)
        await phone.wait_for_quiet(quiet_secs=0.6)
        opening = transcribe(phone.heard(greeted - 0.1), TWILIO_RATE)
        reply = transcribe(await hold_booking(phone), TWILIO_RATE)
        spoke_at = await phone.say(caller_speech("No thank you, goodbye."))
        await asyncio.wait_for(phone.closed.wait(), 20)  # the server hung up
        hung_up = time.monotonic()
    farewell = transcribe(phone.heard(spoke_at + 1.0, hung_up), TWILIO_RATE)
    assert share_heard({"calling", "appointment", "tomorrow", "morning"}, opening) >= 0.75, opening
    assert share_heard(AGENT_WORDS, reply) >= 0.65, reply
    assert share_heard({"thank", "calling", "wonderful", "afternoon"}, farewell) >= 0.5, farewell

    result = await this.outcome()
    assert (result.ended_by, result.end_reason, result.error) == ("agent", "tool_end_call", None)
    said = [(item.role, item.tool_name or item.content) for item in result.transcript]
    assert said[:3] == [("assistant", OPENING), ("user", CALLER_SAYS), ("assistant", AGENT_SAYS)]
    assert ("user", "No thank you, goodbye.") in said and ("tool", "end_call") in said
    assert said[-1] == ("assistant", FAREWELL)

    # The server heard the caller (its VAD made the turns) and was configured for a call.
    assert model.audio_received_secs > 5
    session = model.sessions[-1]
    assert session["output_modalities"] == ["audio"]
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["audio"]["input"]["transcription"]["model"] == "gpt-4o-mini-transcribe"
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    # The fixed words were asked for word for word; the replies came from turns.
    asked = [r.response_instructions for r in model.responses]
    assert OPENING in (asked[0] or "") and FAREWELL in (asked[-1] or "")
    assert asked[1:3] == [None, None]

    events = result.speech_events
    agents = [e for e in events if e.speaker == "agent"]
    users = [e for e in events if e.speaker == "user"]
    assert [e.transcript for e in users] == [CALLER_SAYS, "No thank you, goodbye."]
    assert all(e.stt_transcription_delay_ms is not None for e in users)
    assert [e.transcript for e in agents][:2] == [OPENING, AGENT_SAYS]
    assert all(e.llm_ttft_ms is not None and e.tts_ttfb_ms is None for e in agents)
    assert result.engines == {"tts": "openai-realtime", "stt": "openai-realtime"}
    assert this.recording.exists() and this.recording.stat().st_size > 8000 * 4 * 3


LONG_OPENING = (
    "Hello, this is Ava from the dental clinic. I am calling to go through the details of "
    "your appointment, the documents to bring and the directions to our new building."
)


async def test_the_caller_cuts_the_realtime_model_off(server: Server, tmp_path: Path) -> None:
    model = server.model
    model.add(say(LONG_OPENING))
    model.hears("Sorry, can you call back later?")
    model.add(say("Of course."))
    this = SessionCall(
        {"first_sentence": LONG_OPENING, "end_of_call_sentence": None}, tmp_path / "cut.wav"
    )
    async with server.dial("barge-in", this) as phone:
        greeted = await phone.wait_for_speech(within=15)
        await phone.wait_for_audio(1.5, since=greeted)
        spoke_at = await phone.say(caller_speech("Sorry, can you call back later?"))
        replied = await phone.wait_for_speech(after=spoke_at + 1.5)
        await phone.wait_for_quiet(quiet_secs=0.6)
    result = await this.outcome()
    # The opening stopped soon after the caller spoke: Twilio was told to drop what it
    # had buffered, and little of the opening came after.
    assert any(spoke_at < at < spoke_at + 1.0 for at in phone.clears), phone.clears
    assert phone.received_secs(spoke_at + 1.0, replied) < 0.5
    assert phone.received_secs(greeted, replied) < 0.8 * speech_secs(LONG_OPENING)
    # The model was told how much of its opening the caller heard.
    cut = model.truncations[-1]
    assert 1000 < cut["audio_end_ms"] < 1000 * speech_secs(LONG_OPENING)
    first = next(e for e in result.speech_events if e.speaker == "agent")
    assert first.was_cut is True
    said = [(item.role, item.content) for item in result.transcript]
    assert ("user", "Sorry, can you call back later?") in said
    assert said[-1] == ("assistant", "Of course.")


async def test_max_duration_has_the_model_say_its_message_over_the_caller(
    server: Server, tmp_path: Path
) -> None:
    """Time runs out while the caller talks: the model stops hearing them (its server
    never ends that turn, so nothing answers it) and says the message to its end."""
    message = "I am sorry, but our time is up. Thank you for calling."
    model = server.model
    responses_before = len(model.responses)
    model.add(say(message))
    this = SessionCall(
        {
            "first_sentence_mode": "none",
            "max_call_duration_secs": 4,
            "max_duration_end_message": message,
        },
        tmp_path / "max-duration.wav",
    )
    talking = caller_speech(
        "I have a question about my appointment next week and I would like to know "
        "whether I can bring my daughter with me please."
    )
    async with server.dial("max-duration", this) as phone:
        await asyncio.sleep(1.0)
        spoke_at = await phone.say(talking)  # still talking when time runs out
        await asyncio.wait_for(phone.closed.wait(), 20)
        hung_up = time.monotonic()
    result = await this.outcome()
    assert (result.ended_by, result.end_reason) == ("system", "max_duration")
    heard = transcribe(phone.heard(since=spoke_at, until=hung_up), TWILIO_RATE)
    assert share_heard({"sorry", "time", "thank", "calling"}, heard) >= 0.5, heard
    assert result.transcript[-1].content == message
    assert len(model.responses) - responses_before == 1  # the caller's turn: unanswered
    assert message in (model.responses[-1].response_instructions or "")


VOICEMAIL_GREETING = (
    "Hi, you have reached the voicemail of John Smith. I am not available right now. "
    "Please leave a message after the tone."
)
GREETING_MORE = "I will call you back as soon as I can."
VOICEMAIL_MESSAGE = (
    "This is a message about your appointment tomorrow morning. Please call us back, thank you."
)


async def test_a_voicemail_gets_the_message_from_the_realtime_model(
    server: Server, tmp_path: Path
) -> None:
    """The model's server transcribes the greeting; detection stops the model (which
    had started to answer the machine), which hears nothing more of the greeting, and
    after the beep has it leave the message."""
    model = server.model
    responses_before = len(model.responses)
    model.hears(VOICEMAIL_GREETING, GREETING_MORE)
    model.add(say("Hello? Who is this?"), say(VOICEMAIL_MESSAGE))
    this = SessionCall(
        {"voicemail_message": VOICEMAIL_MESSAGE, "first_sentence_mode": "none"},
        tmp_path / "voicemail.wav",
    )
    async with server.dial("voicemail", this) as phone:
        await asyncio.sleep(0.5)
        # The greeting goes on after a pause: the model no longer hears it.
        greeting = caller_speech(VOICEMAIL_GREETING) + silence(1.2)
        await phone.say(greeting + caller_speech(GREETING_MORE) + silence(0.8))
        beep_started = await phone.say(tone(1000.0, 0.5))
        beep_ended = time.monotonic()
        await asyncio.wait_for(phone.closed.wait(), 25)  # the server hung up
        hung_up = time.monotonic()
    result = await this.outcome()
    assert (result.ended_by, result.end_reason) == ("agent", "voicemail"), result
    assert (result.voicemail_reason or "").startswith("greeting phrase: "), result
    assert result.transcript[-1].content == VOICEMAIL_MESSAGE
    assert VOICEMAIL_MESSAGE in (model.responses[-1].response_instructions or "")
    assert len(model.responses) - responses_before == 2  # its first answer, the message
    turns = model.sessions[-1]["audio"]["input"]["turn_detection"]
    assert (turns["create_response"], turns["interrupt_response"]) == (False, False)
    # Nothing was said over the beep; the message came once it was over.
    spoken = [t for t in phone.speech_times() if t > beep_started]
    assert spoken and spoken[0] > beep_ended, (spoken[:1], beep_ended)
    heard = transcribe(phone.heard(since=beep_ended, until=hung_up), TWILIO_RATE)
    expected = {"message", "appointment", "tomorrow", "morning", "back", "thank"}
    assert share_heard(expected, heard) >= 0.5, heard
