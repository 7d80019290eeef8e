"""Latency our call pipeline adds to a turn, at its three seams, with providers that take no time.

One real ``CallSession`` (``build_pipeline``, Silero VAD, the session's turn strategies,
``TwilioCallTransport`` behind the real ``/twilio/media-stream`` route served by uvicorn on
loopback) talks with a fake Twilio caller over a real WebSocket. The providers are fakes
that answer at once: an STT that pushes a final transcript on cue, the loopback
``FakeOpenAI`` server in a child process (the session's own OpenAI-compatible service
talks to it over HTTP, streaming) and a TTS that returns a short tone immediately. Each
turn the caller says a short sentence (piper, 8 kHz mu-law, real time); the transcript is
cued once the turn could end (VAD stop + ``user_speech_timeout`` + 50 ms), so what is
measured is our pipeline's work, not the turn-taking waits:

    1. final transcript (pushed by STT)   -> LLM request (HTTP request at the LLM server)
    2. first LLM token (pushed by the LLM) -> TTS request (``run_tts`` called)
    3. first TTS audio (pushed by TTS)     -> first ``media`` message handed to the socket

Timestamps come from a Pipecat observer (frame pushes; added to the session's worker by
wrapping ``PipelineWorker`` in this process only), the fake services, a stamping HTTP
transport given to the session's OpenAI client (the moment the request goes to the
network), the LLM server's request handler and a wrapper around the server side of the
WebSocket. Production code is
not changed. The server and the caller share one process and one event loop (uvloop, as
``openrevox serve``); the LLM server runs in a child process (its threads would otherwise
contend for the interpreter lock and show up in the figures).

    .venv/bin/python bench/runtime_latency.py      # 10 calls x 10 turns, about 4 minutes
    .venv/bin/python bench/runtime_latency.py --calls 2 --turns-per-call 5
    .venv/bin/python bench/runtime_latency.py --per-call-vad  # OPENREVOX_BATCHED_VAD off
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
import time
from bisect import bisect_left
from dataclasses import dataclass, fields
from typing import Any

import httpx2
import uvicorn
import uvloop
from fastapi import FastAPI, WebSocket
from pipecat.frames.frames import (
    LLMContextFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService

import openrevox.providers.llm.openai_compatible as llm_module
import openrevox.runtime.session as session_module
from openrevox.config import Settings
from openrevox.providers.stt.base import STTChoice
from openrevox.providers.tts.base import TTSChoice
from openrevox.runtime.audio.legs import AudioOptions
from openrevox.runtime.call_config import resolve_call_config
from openrevox.runtime.session import CallSession
from openrevox.runtime.transports.twilio import (
    MEDIA_STREAM_PATH,
    TwilioCallTransport,
    TwilioStreamStart,
    twilio_call_audio,
    twilio_media_router,
)
from runtime_common import (
    FakeLLMProcess,
    FakeSTT,
    FakeTTS,
    TwilioCaller,
    caller_speech_frames,
    free_port,
    ms,
    now,
    percentile,
    quiet_pipecat_logs,
    wait_for_port,
)

TARGET_TOTAL_P95 = 0.010
CALLER_SAYS = "Hello there."
AGENT_SAYS = "Sure, I can help with that. What day works best for you?"
TTS_SECS = 0.12  # each sentence's audio (two sentences a reply)
WARMUP_TURNS = 3  # a first call, not measured (imports, first connections)
ASSISTANT: dict[str, Any] = {
    "id": "asst-bench",
    "prompt": "You are Ava from the dental clinic. Keep answers short.",
    "first_sentence_mode": "none",
    "max_call_duration_secs": 3600,
}


@dataclass
class Turn:
    """When each step of one turn happened (time.monotonic seconds)."""

    transcript: float = math.nan  # STT pushed the final transcript
    context: float = math.nan  # the LLM service was handed the context
    request: float = math.nan  # our HTTP client sent the LLM request
    http: float = math.nan  # the LLM server got it
    token: float = math.nan  # the LLM service pushed its first text
    tts_request: float = math.nan  # run_tts was called (first sentence)
    audio: float = math.nan  # TTS pushed its first audio
    wire: float = math.nan  # the first media message was handed to the socket
    heard: float = math.nan  # the caller received it
    call: int = -1  # which call (0: the warm-up call)
    turn: int = -1  # which turn of its call

    @property
    def complete(self) -> bool:
        return all(not math.isnan(getattr(self, f.name)) for f in fields(self) if f.type == "float")


class Seams:
    """Collects the timestamps of the current turn from every source."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.current: Turn | None = None
        self.wired = asyncio.Event()
        self.sent: list[float] = []  # every media message handed to the socket
        self.received: list[float] = []  # every media message the caller got

    def _set(self, name: str, at: float) -> None:
        turn = self.current
        if turn is not None and math.isnan(getattr(turn, name)):
            setattr(turn, name, at)

    def transcript(self, at: float) -> None:
        self.current = Turn(transcript=at)
        self.turns.append(self.current)

    def context(self, at: float) -> None:
        self._set("context", at)

    def request(self, at: float) -> None:
        self._set("request", at)

    def http(self, at: float) -> None:  # reported by the LLM server's process
        self._set("http", at)

    def token(self, at: float) -> None:
        self._set("token", at)

    def tts_request(self, at: float, _text: str) -> None:
        self._set("tts_request", at)

    def audio(self, at: float) -> None:
        self._set("audio", at)

    def wire(self, at: float) -> None:
        self.sent.append(at)
        if self.current is not None and at > self.current.transcript:
            self.wired.set()

    def heard(self, at: float) -> None:
        self.received.append(at)

    def settle(self) -> None:
        """Match media messages to turns (observers report asynchronously, so this is done
        at the end): a turn's wire time is the first send after its first TTS audio."""
        for turn in self.turns:
            if math.isnan(turn.audio):
                continue
            i = bisect_left(self.sent, turn.audio)
            if i < len(self.sent):
                turn.wire = self.sent[i]
                j = bisect_left(self.received, turn.wire)
                if j < len(self.received):
                    turn.heard = self.received[j]


class SeamObserver(BaseObserver):
    """Stamps frames at the moment a processor pushes them (the frame's own push time).
    Every push is seen: the context reaches the LLM through whatever sits between the
    user aggregator and it."""

    def __init__(self, seams: Seams) -> None:
        super().__init__(observe_every_push=True)
        self._seams = seams

    async def on_push_frame(self, data: FramePushed) -> None:
        if data.direction != FrameDirection.DOWNSTREAM:
            return
        frame = data.frame
        clock = data.source.get_clock()
        # FramePushed.timestamp is ns on the worker's SystemClock (monotonic_ns - start).
        at = (clock._time + data.timestamp) / 1e9  # type: ignore[attr-defined]
        if isinstance(frame, LLMContextFrame) and isinstance(data.destination, LLMService):
            self._seams.context(at)
        elif isinstance(frame, LLMTextFrame) and isinstance(data.source, LLMService):
            self._seams.token(at)
        elif isinstance(frame, TTSAudioRawFrame) and isinstance(data.source, FakeTTS):
            self._seams.audio(at)
        elif isinstance(frame, TranscriptionFrame) and isinstance(data.source, FakeSTT):
            pass  # stamped by FakeSTT itself, just before the push


def observe_session_workers(observer: BaseObserver) -> None:
    """Make the session's ``PipelineWorker`` carry ``observer`` too (this process only)."""

    class ObservedWorker(PipelineWorker):
        def __init__(self, *args: Any, observers: list[BaseObserver] | None = None, **kw: Any):
            super().__init__(*args, observers=[*(observers or []), observer], **kw)

    session_module.PipelineWorker = ObservedWorker  # type: ignore[misc]


class StampingTransport(httpx2.AsyncHTTPTransport):
    """The LLM client's HTTP transport, noting when a request is handed to the network."""

    def __init__(self, on_request: Any) -> None:
        super().__init__()
        self._on_request = on_request

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self._on_request(now())
        return await super().handle_async_request(request)


def stamp_llm_requests(on_request: Any) -> None:
    """Give the session's OpenAI client a stamping transport (this process only)."""
    original = llm_module.DefaultAsyncHttpxClient

    def client(**kwargs: Any) -> Any:
        return original(transport=StampingTransport(on_request), **kwargs)

    llm_module.DefaultAsyncHttpxClient = client  # type: ignore[misc,assignment]


class StampedWebSocket:
    """The server side of the media stream, noting when each ``media`` message is sent."""

    def __init__(self, websocket: WebSocket, on_media: Any) -> None:
        self._websocket = websocket
        self._on_media = on_media

    def __getattr__(self, name: str) -> Any:
        return getattr(self._websocket, name)

    async def send_text(self, data: str) -> None:
        await self._websocket.send_text(data)
        if data.startswith('{"event": "media"'):
            self._on_media(now())


def build_app(seams: Seams, settings: Settings, user_speech_timeout: float) -> FastAPI:
    async def handler(websocket: WebSocket, start: TwilioStreamStart) -> None:
        config = resolve_call_config(ASSISTANT, {}, user_inactivity_secs=0)
        options = AudioOptions.from_assistant(config.assistant)
        audio = twilio_call_audio(options, settings)  # production VAD and turn strategies
        audio.stt = STTChoice(
            FakeSTT(delay=user_speech_timeout + 0.05, on_transcript=seams.transcript), "fake"
        )
        audio.tts = TTSChoice(FakeTTS(secs=TTS_SECS, on_request=seams.tts_request), "fake")
        stamped: Any = StampedWebSocket(websocket, seams.wire)
        transport = TwilioCallTransport(stamped, start, audio)
        session = CallSession(config, transport, settings=settings, audio=audio.pipeline_legs())
        transport.on_caller_hangup(session.user_hung_up)
        await session.run()

    app = FastAPI()
    app.include_router(twilio_media_router(handler))
    return app


def summarize(turns: list[Turn]) -> int:
    seams = [
        ("1. final transcript -> LLM request sent", lambda t: t.request - t.transcript),
        ("   of which: transcript -> LLM service", lambda t: t.context - t.transcript),
        ("   of which: LLM service -> request sent", lambda t: t.request - t.context),
        ("2. first LLM token -> TTS request", lambda t: t.tts_request - t.token),
        ("3. first TTS audio -> first frame on the wire", lambda t: t.wire - t.audio),
        (
            "total added (1 + 2 + 3)",
            lambda t: (t.request - t.transcript) + (t.tts_request - t.token) + (t.wire - t.audio),
        ),
        ("(request sent -> reached the fake LLM)", lambda t: t.http - t.request),
        ("(request sent -> first token pushed)", lambda t: t.token - t.request),
        ("(transcript -> first frame on the wire)", lambda t: t.wire - t.transcript),
        ("(wire -> caller socket)", lambda t: t.heard - t.wire),
    ]
    print(f"\n{'seam (ms)':<48} {'p50':>6} {'p95':>6} {'max':>6}")
    total_p95 = math.nan
    for name, value in seams:
        values = [value(t) for t in turns]
        p95 = percentile(values, 95)
        if name.startswith("total"):
            total_p95 = p95
        print(f"{name:<48} {ms(percentile(values, 50))} {ms(p95)} {ms(max(values))}")
    ok = total_p95 < TARGET_TOTAL_P95
    print(
        f"\ntarget: total p95 under {TARGET_TOTAL_P95 * 1000:.0f} ms -> "
        f"{'MET' if ok else 'NOT MET'} ({total_p95 * 1000:.1f} ms over {len(turns)} turns)"
    )
    return 0 if ok else 1


async def run(calls: int, turns_per_call: int, batched_vad: bool) -> int:
    quiet_pipecat_logs()
    seams = Seams()
    observe_session_workers(SeamObserver(seams))
    stamp_llm_requests(seams.request)

    print("synthesising the caller's sentence with piper ...", flush=True)
    speech = caller_speech_frames(CALLER_SAYS)
    options = AudioOptions()
    clears = failures = 0
    async with FakeLLMProcess(AGENT_SAYS) as llm:
        llm.on_request = seams.http
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            openai_base_url=llm.base_url,
            openai_api_key="bench",
            llm_max_retries=0,
            user_inactivity_timeout_secs=0,
            cartesia_api_key=None,
            elevenlabs_api_key=None,
            gradium_api_key=None,
            soniox_api_key=None,
            deepgram_api_key=None,
            local_speech_fallback=True,
            batched_vad=batched_vad,
        )
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                build_app(seams, settings, options.user_speech_timeout),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        serving = asyncio.create_task(server.serve())
        await wait_for_port(port)
        print(
            f"{calls} calls x {turns_per_call} turns (after a warm-up call of {WARMUP_TURNS} "
            f"turns): caller says {CALLER_SAYS!r} ({len(speech) * 0.02:.2f} s), agent says "
            f"{AGENT_SAYS!r} (2 x {TTS_SECS:.2f} s of audio); batched VAD "
            f"{'on' if batched_vad else 'off'}",
            flush=True,
        )
        started = time.monotonic()
        try:
            for call in range(calls + 1):
                turns = WARMUP_TURNS if call == 0 else turns_per_call
                url = f"ws://127.0.0.1:{port}{MEDIA_STREAM_PATH}"
                caller = TwilioCaller(url, speech, call_id=f"call{call}")
                caller.on_media = seams.heard
                if not await caller.start():
                    raise RuntimeError(f"the server did not take the call: {caller.error}")
                await asyncio.sleep(0.5)
                for turn in range(turns):
                    seams.wired.clear()
                    await caller.say()
                    try:
                        await asyncio.wait_for(seams.wired.wait(), 5.0)
                    except TimeoutError:
                        failures += 1
                        print(f"  call {call} turn {turn}: no reply within 5 s", flush=True)
                    if seams.current is not None:
                        seams.current.call, seams.current.turn = call, turn
                    # Let the reply play out and the bot-speaking state clear before the
                    # caller speaks again (no barge-in in this benchmark).
                    await asyncio.sleep(2 * TTS_SECS + 0.3)
                await caller.stop()
                clears += len(caller.clears)
                if call:
                    print(f"  call {call}: {time.monotonic() - started:.0f} s", flush=True)
                await asyncio.sleep(0.3)
        finally:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serving, 10)
    seams.settle()
    measured = [t for t in seams.turns if t.complete and t.call > 0]
    incomplete = sum(1 for t in seams.turns if t.call > 0 and not t.complete)
    print(
        f"measured {len(measured)} complete turns in {time.monotonic() - started:.0f} s "
        f"({failures} without reply, {incomplete} incomplete); Twilio clear messages: "
        f"{clears} (Pipecat sends one as each user turn starts)"
    )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    if not measured:
        return 1
    by_turn = [
        (n + 1, [t.request - t.transcript for t in measured if t.turn == n])
        for n in sorted({0, turns_per_call // 2, turns_per_call - 1})
    ]
    print(
        "seam 1 p50 by turn of the call (the LLM request grows with the conversation): "
        + ", ".join(f"turn {n}: {ms(percentile(v, 50)).strip()} ms" for n, v in by_turn if v)
    )
    return summarize(measured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--turns-per-call", type=int, default=10)
    vad = parser.add_mutually_exclusive_group()
    vad.add_argument(
        "--batched-vad",
        action="store_true",
        help="OPENREVOX_BATCHED_VAD on for the session (the default since it became the product's)",
    )
    vad.add_argument(
        "--per-call-vad", action="store_true", help="OPENREVOX_BATCHED_VAD off (Pipecat's)"
    )
    args = parser.parse_args()
    raise SystemExit(uvloop.run(run(args.calls, args.turns_per_call, not args.per_call_vad)))


if __name__ == "__main__":
    main()
