"""Shared pieces of the call-runtime benchmarks (bench/runtime_latency.py, bench/runtime_cpu.py).

- Fake speech services for Pipecat: ``FakeSTT`` (a fixed final transcript a set delay after
  each VAD stop, nothing else) and ``FakeTTS`` (a fixed short tone for every request).
- Twilio's side of a media stream: ``TwilioCaller`` streams 20 ms mu-law frames in real
  time (speech then silence, in cycles, or on demand) and records what comes back.
- Caller speech: a short sentence said once by the local piper voice, at 8 kHz.
- Figures: percentiles, CPU time of a process from /proc, a playout model for underruns.

Nothing here is production code; the benchmarks print figures, they are not tests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pipecat.frames.frames import (
    Frame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

TWILIO_RATE = 8000
FRAME_SECS = 0.02
FRAME_BYTES = int(TWILIO_RATE * FRAME_SECS)  # mu-law: one byte a sample
SILENCE_PAYLOAD = base64.b64encode(b"\xff" * FRAME_BYTES).decode()
CALLER_TEXT = "Hello, I would like to book an appointment for tomorrow."
TRANSCRIPT = "Hello, I would like to book an appointment for tomorrow."
_BIAS = 0x84
_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def now() -> float:
    return time.monotonic()


# ---- audio ----


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM to G.711 mu-law bytes (the reference algorithm, as audioop)."""
    v = np.frombuffer(pcm, dtype="<i2").astype(np.int32) >> 2
    mask = np.where(v < 0, 0x7F, 0xFF)
    v = np.minimum(np.abs(v), 8159) + 33
    segment = np.searchsorted(_SEGMENT_ENDS, v)
    value = np.where(segment >= 8, 0x7F, (segment << 4) | ((v >> (segment + 1)) & 0x0F))
    return bytes((value ^ mask).astype(np.uint8))


def tone(secs: float, rate: int, freq: float = 440.0, level: float = 0.3) -> bytes:
    """A sine tone as 16-bit mono PCM (the fake TTS's voice)."""
    t = np.arange(int(secs * rate), dtype=np.float32) / rate
    return (np.sin(2 * np.pi * freq * t) * level * 32767).astype("<i2").tobytes()


def trim_silence(pcm: bytes, rate: int, threshold: float = 0.01) -> bytes:
    """Drop leading and trailing near-silence, so "end of speech" is the last voiced sample."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    win = max(1, rate // 100)  # 10 ms
    n = len(x) // win
    energy = np.sqrt(np.mean(x[: n * win].reshape(n, win) ** 2, axis=1))
    voiced = np.flatnonzero(energy > threshold)
    if voiced.size == 0:
        return pcm
    start, end = voiced[0] * win, (voiced[-1] + 1) * win
    return x_to_pcm(x[start:end])


def x_to_pcm(x: np.ndarray[Any, Any]) -> bytes:
    return bytes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def caller_speech_frames(text: str = CALLER_TEXT, speed: float = 1.0) -> list[str]:
    """``text`` said once by piper (the joe voice shipped with openrevox), resampled to the
    phone line's 8 kHz, trimmed, mu-law encoded and cut into base64 20 ms payloads."""
    from openrevox.providers.tts.local_piper import synthesize
    from openrevox.runtime.audio.pcm import resample_pcm16

    pcm, rate = synthesize(text, speed=speed, volume=1.4)
    pcm8k = trim_silence(resample_pcm16(pcm, rate, TWILIO_RATE), TWILIO_RATE)
    payload = ulaw_encode(pcm8k)
    chunks = [payload[i : i + FRAME_BYTES] for i in range(0, len(payload), FRAME_BYTES)]
    return [base64.b64encode(c.ljust(FRAME_BYTES, b"\xff")).decode() for c in chunks]


# ---- fake services ----


class FakeSTT(STTService):
    """Hears nothing in the audio; ``delay`` seconds after each VAD stop it pushes one final
    transcript (``on_transcript(t)`` is told the time it pushes it)."""

    def __init__(
        self,
        *,
        text: str = TRANSCRIPT,
        delay: float = 0.0,
        on_transcript: Callable[[float], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ttfs_p99_latency=0.0,
            settings=STTSettings(model="fake-stt", language=None),
            **kwargs,
        )
        self._text = text
        self._delay = delay
        self._on_transcript = on_transcript
        self._pending: asyncio.Task[None] | None = None

    def can_generate_metrics(self) -> bool:
        return True

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        return
        yield  # an async generator that yields nothing

    async def _handle_vad_user_started_speaking(self, frame: VADUserStartedSpeakingFrame) -> None:
        await super()._handle_vad_user_started_speaking(frame)
        if self._pending is not None:
            await self.cancel_task(self._pending)
            self._pending = None

    async def _handle_vad_user_stopped_speaking(self, frame: VADUserStoppedSpeakingFrame) -> None:
        await super()._handle_vad_user_stopped_speaking(frame)
        self._pending = self.create_task(self._transcribe(), name="fake_stt_transcript")

    async def cleanup(self) -> None:
        if self._pending is not None:
            await self.cancel_task(self._pending)
            self._pending = None
        await super().cleanup()

    async def _transcribe(self) -> None:
        if self._delay > 0:
            await asyncio.sleep(self._delay)
        self._pending = None
        frame = TranscriptionFrame(self._text, "", time_now_iso8601(), finalized=True)
        if self._on_transcript is not None:
            self._on_transcript(now())
        await self.push_frame(frame)


class FakeTTS(TTSService):
    """Answers every request at once with the same short tone (``on_request(t, text)`` is
    told when ``run_tts`` is called)."""

    def __init__(
        self,
        *,
        secs: float = 0.4,
        on_request: Callable[[float, str], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model="fake-tts", voice="fake", language=None),
            **kwargs,
        )
        self._secs = secs
        self._on_request = on_request
        self._audio: dict[int, bytes] = {}

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        if self._on_request is not None:
            self._on_request(now(), text)
        rate = self.sample_rate
        audio = self._audio.get(rate)
        if audio is None:
            audio = self._audio[rate] = tone(self._secs, rate)
        await self.start_tts_usage_metrics(text)
        await self.stop_ttfb_metrics()
        yield TTSAudioRawFrame(audio, rate, 1, context_id=context_id)


# ---- the fake LLM, in its own process ----


class FakeLLMProcess:
    """``openrevox.testing.fake_openai.FakeOpenAI`` answering ``text`` to every request, run
    in a child process (so its threads do not contend for this process's interpreter
    lock). ``requests`` gets the time (``time.monotonic``, the same clock in every
    process) each request reached it."""

    def __init__(self, text: str, *, cpus: str | None = None) -> None:
        self.text = text
        self.cpus = cpus
        self.requests: list[float] = []
        self.on_request: Callable[[float], None] | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeLLMProcess:
        command = [sys.executable, __file__, "fake-llm", self.text]
        if self.cpus is not None:
            command = ["taskset", "-c", self.cpus, *command]
        self._process = await asyncio.create_subprocess_exec(
            *command, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self._process.stdout is not None
        line = (await asyncio.wait_for(self._process.stdout.readline(), 30)).decode().split()
        if not line or line[0] != "URL":
            raise RuntimeError(f"the fake LLM did not start: {line}")
        self.base_url = line[1]
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            kind, _, value = line.decode().partition(" ")
            if kind == "REQ":
                at = float(value)
                self.requests.append(at)
                if self.on_request is not None:
                    self.on_request(at)

    async def __aexit__(self, *_: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), 5)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
        self._reader.cancel()


def _serve_fake_llm(text: str) -> None:
    from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, say

    def answer(_request: FakeRequest) -> Reply:
        print(f"REQ {time.monotonic():.6f}", flush=True)
        return say(text)

    with FakeOpenAI(handler=answer) as llm:
        print(f"URL {llm.base_url}", flush=True)
        sys.stdin.read()  # until the parent closes it


# ---- the caller (Twilio's side of the media stream) ----

_MEDIA = (
    '{"event":"media","sequenceNumber":"%d","streamSid":"%s","media":{"track":"inbound",'
    '"chunk":"%d","timestamp":"%d","payload":"%s"}}'
)


@dataclass
class Utterance:
    """One thing the caller said: when its first and last frames went out."""

    started: float
    ended: float


@dataclass
class TwilioCaller:
    """Twilio's side of one media stream over a real WebSocket, paced in real time.

    ``cycle`` mode: after ``lead_secs`` of silence, say ``speech`` then ``pause_secs`` of
    silence, again and again until ``stop()``. Otherwise silence until ``say()``.
    Records every utterance and every ``media`` message received (time, audio seconds).
    """

    url: str
    speech: Sequence[str]
    call_id: str = "bench"
    cycle: bool = False
    lead_secs: float = 0.0
    pause_secs: float = 3.0
    utterances: list[Utterance] = field(default_factory=list)
    received: list[tuple[float, float]] = field(default_factory=list)
    clears: list[float] = field(default_factory=list)
    closed_at: float | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        self.stream_sid = f"MZ{self.call_id:0>32}"[:34]
        self._queue: list[tuple[str, asyncio.Future[Utterance] | None]] = []
        self._queued = 0
        self._stopping = False
        self._ws: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()
        self.on_media: Callable[[float], None] | None = None

    async def start(self) -> bool:
        """Connect and start streaming; False (and ``error`` set) if the server did not
        take the call (e.g. too busy to finish the WebSocket handshake in 20 s)."""
        import websockets

        try:
            self._ws = await websockets.connect(
                self.url, max_size=None, compression=None, open_timeout=20
            )
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            self.error = f"connect: {exc!r}"
            return False
        start = {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": self.stream_sid,
            "start": {
                "streamSid": self.stream_sid,
                "accountSid": "AC" + "0" * 32,
                "callSid": "CA" + self.stream_sid[2:],
                "tracks": ["inbound"],
                "customParameters": {"call_id": self.call_id},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
        await self._ws.send('{"event":"connected","protocol":"Call","version":"1.0.0"}')
        await self._ws.send(json.dumps(start))
        self.connected.set()
        self._tasks = [
            asyncio.create_task(self._sender()),
            asyncio.create_task(self._receiver()),
        ]
        return True

    async def say(self) -> Utterance:
        """Queue the speech once (non-cycle mode); return when its last frame went."""
        done: asyncio.Future[Utterance] = asyncio.get_running_loop().create_future()
        for index, payload in enumerate(self.speech):
            self._queue.append((payload, done if index == len(self.speech) - 1 else None))
        return await done

    async def stop(self) -> None:
        """Stop talking, send Twilio's ``stop`` and close the socket."""
        self._stopping = True
        sender, receiver = self._tasks or (None, None)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        with contextlib.suppress(Exception):
            await self._ws.send(json.dumps({"event": "stop", "streamSid": self.stream_sid}))
            await asyncio.wait_for(self._ws.close(), 5)
        if receiver is not None:
            try:
                await asyncio.wait_for(receiver, 5)
            except (TimeoutError, asyncio.CancelledError):
                receiver.cancel()

    async def _sender(self) -> None:
        sequence = 2
        next_at = now()
        speech = list(self.speech)
        period = len(speech) + max(1, round(self.pause_secs / FRAME_SECS))
        lead = round(self.lead_secs / FRAME_SECS)
        index = 0
        started = 0.0
        try:
            while not self._stopping:
                done: asyncio.Future[Utterance] | None = None
                if self.cycle:
                    position = (index - lead) % period if index >= lead else period - 1
                    payload = speech[position] if position < len(speech) else SILENCE_PAYLOAD
                    first, last = position == 0 and index >= lead, position == len(speech) - 1
                elif self._queue:
                    payload, done = self._queue.pop(0)
                    first, last = self._queued == 0, done is not None
                    self._queued = 0 if last else self._queued + 1
                else:
                    payload, first, last = SILENCE_PAYLOAD, False, False
                await self._ws.send(
                    _MEDIA % (sequence, self.stream_sid, sequence - 1, index * 20, payload)
                )
                sent = now()
                if first:
                    started = sent
                if last and (not self.cycle or index >= lead):
                    utterance = Utterance(started, sent)
                    self.utterances.append(utterance)
                    if done is not None and not done.done():
                        done.set_result(utterance)
                sequence += 1
                index += 1
                next_at += FRAME_SECS
                await asyncio.sleep(max(0.0, next_at - now()))
        except Exception as exc:  # the server went away
            if not self._stopping:
                self.error = f"send: {exc!r}"

    async def _receiver(self) -> None:
        import websockets

        try:
            async for raw in self._ws:
                at = now()
                if isinstance(raw, bytes):
                    raw = raw.decode()
                if raw.startswith('{"event": "media"'):
                    start = raw.index('"payload": "') + 12
                    length = raw.index('"', start) - start
                    self.received.append((at, length * 3 / 4 / TWILIO_RATE))
                    if self.on_media is not None:
                        self.on_media(at)
                elif '"clear"' in raw[:30]:
                    self.clears.append(at)
        except websockets.ConnectionClosed:
            pass
        except Exception as exc:
            self.error = f"receive: {exc!r}"
        finally:
            self.closed_at = now()


@dataclass
class Reply:
    """The agent's answer to one utterance, as the caller received it."""

    utterance: Utterance
    latency: float | None  # end of caller speech -> first agent audio; None: no reply
    worst_gap: float  # longest silence inside the reply beyond real time (playout model)
    chunks: int


def replies(caller: TwilioCaller) -> list[Reply]:
    """Match each utterance with the audio that came back before the next one started.

    The playout model plays each chunk when it arrives or when the previous one ends,
    whichever is later (Twilio buffers what it gets); a gap is the time a chunk arrived
    after the previous one finished playing: the caller hears silence that long.
    """
    result: list[Reply] = []
    received = caller.received
    j = 0
    for k, utterance in enumerate(caller.utterances):
        until = caller.utterances[k + 1].started if k + 1 < len(caller.utterances) else math.inf
        while j < len(received) and received[j][0] <= utterance.ended:
            j += 1
        chunk_times: list[tuple[float, float]] = []
        while j < len(received) and received[j][0] < until:
            chunk_times.append(received[j])
            j += 1
        if not chunk_times:
            result.append(Reply(utterance, None, 0.0, 0))
            continue
        worst = 0.0
        play_end = chunk_times[0][0] + chunk_times[0][1]
        for at, secs in chunk_times[1:]:
            worst = max(worst, at - play_end)
            play_end = max(play_end, at) + secs
        result.append(
            Reply(utterance, chunk_times[0][0] - utterance.ended, worst, len(chunk_times))
        )
    return result


# ---- figures ----


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(value: float) -> str:
    return "   n/a" if math.isnan(value) else f"{value * 1000:6.1f}"


_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_secs(pid: int, task: int | None = None) -> float:
    """User + system CPU seconds of a process (all its threads), or of one of its threads
    (``task``: the thread id; the main thread's is the pid), from /proc."""
    path = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / _TICK, total / _TICK


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_port(port: int, within: float = 30.0) -> None:
    deadline = now() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if now() > deadline:
                raise
            await asyncio.sleep(0.05)


def jitter(seed: int) -> random.Random:
    return random.Random(seed)


def quiet_pipecat_logs(level: str = "WARNING") -> None:
    """Pipecat logs through loguru at DEBUG by default (``openrevox serve`` leaves it so)."""
    import sys

    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level=level)


if __name__ == "__main__":
    if sys.argv[1:2] == ["fake-llm"]:
        _serve_fake_llm(sys.argv[2])
