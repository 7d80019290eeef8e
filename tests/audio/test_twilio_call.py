"""End to end over a real WebSocket: a fake Twilio caller talks with the voice pipeline.

uvicorn serves the media-stream endpoint on loopback; the caller streams piper speech
as 8 kHz mu-law in real time; the server hears it with pocketsphinx, asks the fake
OpenAI-compatible LLM, speaks the reply with piper; the test transcribes what came
back. Barge-in and uninterruptible speech are checked on the agent's audio timing.
"""

from __future__ import annotations

import asyncio
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI, WebSocket

from openrevox.config import Settings
from openrevox.providers.stt.local_pocketsphinx import transcribe
from openrevox.runtime.audio.legs import AudioOptions, CallAudio
from openrevox.runtime.audio.pcm import rms, to_pcm16
from openrevox.runtime.audio.pipeline import build_voice_pipeline
from openrevox.runtime.audio.sounds import load_clip
from openrevox.runtime.recorder import CallRecorder as SpeechEventRecorder
from openrevox.runtime.transports.twilio import (
    MEDIA_STREAM_PATH,
    OUT_SAMPLE_RATE,
    TwilioCallTransport,
    TwilioStreamStart,
    twilio_call_audio,
    twilio_media_router,
)
from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, Reply

from .conftest import (
    AGENT_SAYS,
    AGENT_WORDS,
    CALLER_SAYS,
    CALLER_WORDS,
    assert_booking_understood,
    booking_llm,
    hold_booking,
    local_speech_settings,
    share_heard,
)
from .contention import CpuContention
from .twilio_peer import TWILIO_RATE, FakeTwilioCall, caller_speech, serve, speech_secs

LONG_GREETING = (
    "Hello, this is the dental clinic calling about your appointment next week. "
    "I would like to go through a few details with you before we confirm everything, "
    "so please tell me when you have a moment to talk."
)
SHORT_NOTICE = "This call is recorded for quality purposes. Thank you for your patience."
LLM_THINKS_SECS = 1.0


@dataclass
class Scenario:
    """How the server side of one test call is set up, and what it saw."""

    options: AudioOptions
    first_message: str | None = None
    first_message_interruptible: bool = True
    audio: CallAudio | None = None
    speech_events: SpeechEventRecorder | None = None
    transport: TwilioCallTransport | None = None
    done: threading.Event = field(default_factory=threading.Event)  # set in the server's loop


@dataclass
class Server:
    url: str
    llm: FakeOpenAI
    settings: Settings
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    llm_asked_at: list[float] = field(default_factory=list)
    llm_delay: float = 0.0  # how long the fake LLM thinks before answering

    def call(self, name: str, scenario: Scenario) -> FakeTwilioCall:
        self.scenarios[name] = scenario
        return FakeTwilioCall(f"{self.url}{MEDIA_STREAM_PATH}", {"scenario": name})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = local_speech_settings(recordings_dir=tmp_path_factory.mktemp("recordings"))
    holder: dict[str, Server] = {}

    def answer(request: FakeRequest) -> Reply:
        holder["server"].llm_asked_at.append(time.monotonic())
        if "book" in (request.last_user_text or ""):
            return Reply(text=AGENT_SAYS, delay=holder["server"].llm_delay)
        return Reply(text="Of course, go ahead.")

    async def handler(websocket: WebSocket, start: TwilioStreamStart) -> None:
        scenario = holder["server"].scenarios[start.custom_parameters["scenario"]]
        audio = twilio_call_audio(scenario.options, settings)
        transport = TwilioCallTransport(websocket, start, audio)
        scenario.audio, scenario.transport = audio, transport
        llm = booking_llm(holder["server"].llm.base_url)
        events = SpeechEventRecorder(llm=llm, tts=audio.tts.service, now=time.monotonic)
        scenario.speech_events = events
        voice = build_voice_pipeline(
            transport,
            audio,
            llm,
            first_message=scenario.first_message,
            first_message_interruptible=scenario.first_message_interruptible,
            observers=[events],
        )
        try:
            await voice.run()
        finally:
            scenario.done.set()

    app = FastAPI()
    app.include_router(twilio_media_router(handler))
    with FakeOpenAI(handler=answer) as llm, serve(app) as url:
        server = Server(url, llm, settings)
        holder["server"] = server
        yield server


async def test_caller_and_agent_understand_each_other(server: Server, tmp_path: Path) -> None:
    """Speech in, its transcript to the LLM, the reply spoken back, the call recorded."""
    recording = tmp_path / "CA-e2e.wav"
    scenario = Scenario(AudioOptions(recording_path=recording))
    async with server.call("e2e", scenario) as call:
        heard = await hold_booking(call)
    assert_booking_understood(server.llm, heard)

    # The stereo recording: caller on the left, agent on the right.
    assert await asyncio.to_thread(scenario.done.wait, 10)
    assert scenario.audio is not None and scenario.audio.recorder is not None
    assert scenario.audio.recorder.closed.is_set()
    assert scenario.audio.engines == {"tts": "local-piper", "stt": "local-pocketsphinx"}
    with wave.open(str(recording)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, OUT_SAMPLE_RATE)
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    left = transcribe(stereo[:, 0].tobytes(), OUT_SAMPLE_RATE)
    right = transcribe(stereo[:, 1].tobytes(), OUT_SAMPLE_RATE)
    assert share_heard(CALLER_WORDS, left) >= 0.65, left
    assert share_heard(AGENT_WORDS, right) >= 0.5, right


async def test_background_and_thinking_sounds_reach_the_caller(
    server: Server, contention: CpuContention
) -> None:
    """Background under everything at its volume; the thinking sound while the LLM thinks."""
    scenario = Scenario(
        AudioOptions(
            background_sound="audio/office.ogg",
            background_sound_volume=0.1,
            thinking_sound="hold_music.ogg",
            thinking_sound_probability=1.0,
            thinking_sound_volume=0.3,
        )
    )
    server.llm_delay = LLM_THINKS_SECS
    booking = caller_speech(CALLER_SAYS)
    async with server.call("sounds", scenario) as call:
        call.speech_rms = 0.06  # above the sounds' level
        await asyncio.sleep(0.5)
        quiet_from = time.monotonic()
        await asyncio.sleep(1.5)
        quiet_until = time.monotonic()
        spoke_at = await call.say(booking)
        first_reply = await call.wait_for_speech(after=spoke_at + 2.0)
    server.llm_delay = 0.0
    office = rms(to_pcm16(load_clip("audio/office.ogg", OUT_SAMPLE_RATE)))
    assert rms(call.heard(quiet_from, quiet_until)) == pytest.approx(0.1 * office, rel=0.25)
    asked_at = server.llm_asked_at[-1]
    # The reply comes once the LLM has thought, within 0.6 s (idle machine) of speech.
    slow = contention.factor(asked_at, first_reply)
    assert LLM_THINKS_SECS - 0.6 < first_reply - asked_at < LLM_THINKS_SECS + 0.6 * slow
    thinking = call.heard(asked_at + 0.2, asked_at + LLM_THINKS_SECS - 0.1)
    music = rms(to_pcm16(load_clip("hold_music.ogg", OUT_SAMPLE_RATE)))
    assert rms(thinking) == pytest.approx(np.hypot(0.3 * music, 0.1 * office), rel=0.3)


async def test_caller_barges_in_and_the_agent_stops(
    server: Server, contention: CpuContention
) -> None:
    scenario = Scenario(AudioOptions(), first_message=LONG_GREETING)
    interruption = caller_speech("Wait, stop, I have a question please.")
    async with server.call("barge-in", scenario) as call:
        agent_started = await call.wait_for_speech(within=15)
        await asyncio.sleep(1.5)
        spoke_at = await call.say(interruption)
        last_agent_audio = await call.wait_for_quiet(quiet_secs=0.8, within=20)
    # The VAD needs 0.2 s of steady speech ("Wait," is shorter: "stop" does it); the
    # agent is cut off about 0.9 s after the caller's first sound, bound at 1.5 s (on an
    # idle machine: budgets scale with how busy it is).
    budget = 1.5 * contention.factor(spoke_at, last_agent_audio)
    assert call.clears, "the server never told Twilio to drop its buffered audio"
    assert spoke_at < call.clears[0] < spoke_at + budget
    assert last_agent_audio - spoke_at < budget
    # Far less than the whole greeting (about 11 s) was spoken: what was said before the
    # caller spoke, and no more than the cut-off budget after.
    said = call.received_secs(agent_started - 0.5, last_agent_audio + 0.1)
    assert said < (spoke_at - agent_started) + budget + 0.5, said
    # The session's speech events say the greeting was cut.
    assert scenario.speech_events is not None
    agent = [e for e in scenario.speech_events.events if e.speaker == "agent"]
    assert agent and agent[0].was_cut is True
    user = [e for e in scenario.speech_events.events if e.speaker == "user"]
    assert user and user[0].started_speaking_at_ms > agent[0].started_speaking_at_ms


async def test_an_uninterruptible_message_plays_to_its_end(
    server: Server, contention: CpuContention
) -> None:
    scenario = Scenario(
        AudioOptions(), first_message=SHORT_NOTICE, first_message_interruptible=False
    )
    requests_before = len(server.llm.requests)
    hello = caller_speech("Hello? Hello?")
    async with server.call("uninterruptible", scenario) as call:
        agent_started = await call.wait_for_speech(within=15)
        await asyncio.sleep(1.0)
        await call.say(hello)
        last_agent_audio = await call.wait_for_quiet(quiet_secs=1.0, within=20)
        heard = call.heard(since=agent_started, until=last_agent_audio + 0.1)
    transcript = transcribe(heard, TWILIO_RATE)
    # The whole notice (about 3.6 s from its first word to its last) was said.
    assert call.received_secs(agent_started, last_agent_audio + 0.1) > 0.9 * speech_secs(
        SHORT_NOTICE
    )
    # The audio kept flowing in real time while the server decoded the caller's words
    # (pocketsphinx runs in worker processes: in a thread it would stall the loop for
    # 0.3-0.8 s). 150 ms on an idle machine, scaled by how busy it is.
    slow = contention.factor(agent_started, last_agent_audio)
    assert call.longest_gap(agent_started, last_agent_audio) < 0.15 * slow
    # Twilio was never told to drop the notice's buffered audio.
    assert call.clears == []
    assert scenario.transport is not None and scenario.transport.serializer.clears_held >= 1
    # The caller was heard all the same (a user turn, answered after the notice).
    assert scenario.speech_events is not None
    assert [e for e in scenario.speech_events.events if e.speaker == "user"]
    assert len(server.llm.requests) > requests_before
    assert share_heard({"call", "recorded", "quality", "thank", "patience"}, transcript) >= 0.6


async def test_a_peer_that_is_not_twilio_is_refused(server: Server) -> None:
    import websockets

    async with websockets.connect(f"{server.url}{MEDIA_STREAM_PATH}") as ws:
        await ws.send('{"event": "media", "media": {"payload": ""}}')
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
