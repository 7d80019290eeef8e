"""Test support: G.711, fake Twilio and Telnyx media-stream clients, a uvicorn server thread."""

from __future__ import annotations

import asyncio
import audioop
import base64
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uvicorn
import websockets
from fastapi import FastAPI

from openrevox.providers.tts.local_piper import synthesize
from openrevox.runtime.audio.pcm import resample_pcm16, rms

TWILIO_RATE = 8000
FRAME_SECS = 0.02
FRAME_BYTES = int(TWILIO_RATE * FRAME_SECS)  # mu-law: one byte a sample
_BIAS = 0x84
_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM to G.711 mu-law bytes (the reference 14-bit algorithm, as audioop)."""
    v = np.frombuffer(pcm, dtype="<i2").astype(np.int32) >> 2
    mask = np.where(v < 0, 0x7F, 0xFF)
    v = np.minimum(np.abs(v), 8159) + 33
    segment = np.searchsorted(_SEGMENT_ENDS, v)
    value = np.where(segment >= 8, 0x7F, (segment << 4) | ((v >> (segment + 1)) & 0x0F))
    return bytes((value ^ mask).astype(np.uint8))


def ulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law bytes to 16-bit PCM."""
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = (((u & 0x0F) << 3) + _BIAS) << exponent
    x = np.where(u & 0x80, _BIAS - magnitude, magnitude - _BIAS)
    return x.astype("<i2").tobytes()


def caller_speech(text: str, speed: float = 1.0) -> bytes:
    """``text`` said by piper, as 8 kHz 16-bit PCM (what a phone line carries)."""
    pcm, rate = synthesize(text, speed=speed, volume=1.4)
    return resample_pcm16(pcm, rate, TWILIO_RATE)


def speech_secs(text: str, speech_rms: float = 0.02) -> float:
    """How long the agent's voice (piper, speed 1) takes to say ``text`` on the line, from
    its first 20 ms of speech to its last (louder than ``speech_rms``, as the tests'
    ``speech_times`` count it)."""
    pcm, rate = synthesize(text)
    line = resample_pcm16(pcm, rate, TWILIO_RATE)
    step = 2 * FRAME_BYTES
    loud = [i for i in range(0, len(line), step) if rms(line[i : i + step]) > speech_rms]
    return (loud[-1] - loud[0] + step) / 2 / TWILIO_RATE if loud else 0.0


def tone(frequency: float = 1000.0, secs: float = 0.5, level: float = 0.3) -> bytes:
    """A steady tone (an answering machine's beep) as 8 kHz 16-bit PCM."""
    t = np.arange(int(TWILIO_RATE * secs)) / TWILIO_RATE
    samples = level * np.sin(2 * np.pi * frequency * t)
    return (samples * 32767).astype("<i2").tobytes()


def silence(secs: float) -> bytes:
    """Silence as 8 kHz 16-bit PCM."""
    return bytes(2 * int(TWILIO_RATE * secs))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yield its ws:// base."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-audio", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Received:
    """One ``media`` message from the server: when it arrived and its audio as PCM."""

    at: float
    pcm: bytes


@dataclass
class FakeTwilioCall:
    """Speaks Twilio's side of a media stream: 20 ms mu-law frames, paced in real time.

    Between utterances it sends silence, as Twilio does. ``say`` queues speech and
    returns when its last frame is sent (with the time its first frame went).
    """

    url: str
    custom_parameters: dict[str, str] = field(default_factory=dict)
    stream_sid: str = "MZ00000000000000000000000000000001"
    call_sid: str = "CA00000000000000000000000000000001"
    received: list[Received] = field(default_factory=list)
    clears: list[float] = field(default_factory=list)
    other: list[dict[str, Any]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    speech_rms: float = 0.02  # a media message louder than this carries agent speech

    async def __aenter__(self) -> FakeTwilioCall:
        self._ws = await websockets.connect(self.url, max_size=None)
        for message in self._opening():
            await self._send(message)
        self._outgoing: asyncio.Queue[tuple[bytes, list[asyncio.Future[float]]]] = asyncio.Queue()
        self._sequence = 2
        self._tasks = [
            asyncio.create_task(self._sender()),
            asyncio.create_task(self._receiver()),
        ]
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._tasks[:1]:
            task.cancel()
        try:
            await self._send(self._stop())
            await self._ws.close()
        except websockets.ConnectionClosed:
            pass
        for task in self._tasks[1:]:
            try:
                await asyncio.wait_for(task, 5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()

    async def _send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))

    # ---- Twilio's wire format (FakeTelnyxCall has Telnyx's) ----

    def _opening(self) -> list[dict[str, Any]]:
        media_format = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        start = {
            "streamSid": self.stream_sid,
            "accountSid": "AC00000000000000000000000000000001",
            "callSid": self.call_sid,
            "tracks": ["inbound"],
            "customParameters": self.custom_parameters,
            "mediaFormat": media_format,
        }
        return [
            {"event": "connected", "protocol": "Call", "version": "1.0.0"},
            {"event": "start", "sequenceNumber": "1", "streamSid": self.stream_sid, "start": start},
        ]

    def _media(self, chunk: bytes, timestamp: int) -> list[dict[str, Any]]:
        return [
            {
                "event": "media",
                "sequenceNumber": str(self._sequence),
                "streamSid": self.stream_sid,
                "media": {
                    "track": "inbound",
                    "chunk": str(self._sequence - 1),
                    "timestamp": str(timestamp),
                    "payload": base64.b64encode(chunk).decode(),
                },
            }
        ]

    def _stop(self) -> dict[str, Any]:
        return {"event": "stop", "streamSid": self.stream_sid, "stop": {}}

    def _encode(self, pcm8k: bytes) -> bytes:
        return ulaw_encode(pcm8k)

    def _decode(self, payload: bytes) -> bytes:
        return ulaw_decode(payload)

    async def say(self, pcm8k: bytes) -> float:
        """Stream ``pcm8k`` (8 kHz 16-bit) in real time; return when its first frame went."""
        started: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        payload = self._encode(pcm8k)
        chunks = [payload[i : i + FRAME_BYTES] for i in range(0, len(payload), FRAME_BYTES)]
        for index, chunk in enumerate(chunks):
            markers = [started] if index == 0 else []
            if index == len(chunks) - 1:
                markers.append(done)
            await self._outgoing.put((chunk, markers))
        await done
        return started.result()

    async def _sender(self) -> None:
        silence = self._encode(bytes(2 * FRAME_BYTES))
        next_at = time.monotonic()
        timestamp = 0
        while True:
            try:
                chunk, markers = self._outgoing.get_nowait()
            except asyncio.QueueEmpty:
                chunk, markers = silence, []
            chunk = chunk.ljust(FRAME_BYTES, silence[:1])
            now = time.monotonic()
            for message in self._media(chunk, timestamp):
                await self._send(message)
            for marker in markers:
                if not marker.done():
                    marker.set_result(now)
            self._sequence += 1
            timestamp += int(FRAME_SECS * 1000)
            next_at += FRAME_SECS
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _receiver(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                event = message.get("event")
                if event == "media":
                    pcm = self._decode(base64.b64decode(message["media"]["payload"]))
                    self.received.append(Received(time.monotonic(), pcm))
                elif event == "clear":
                    self.clears.append(time.monotonic())
                else:
                    self.other.append(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    # ---- what the caller heard ----

    def heard(self, since: float = 0.0, until: float = float("inf")) -> bytes:
        return b"".join(r.pcm for r in self.received if since <= r.at < until)

    def received_secs(self, since: float = 0.0, until: float = float("inf")) -> float:
        """Seconds of audio received in a period (its length, whatever its pace)."""
        return len(self.heard(since, until)) / 2 / TWILIO_RATE

    async def wait_for_audio(self, secs: float, *, since: float, within: float = 30.0) -> None:
        """Wait until ``secs`` of audio have arrived since ``since`` (an utterance of
        known length said to its end, however the server's pace stalled on the way)."""
        deadline = time.monotonic() + within
        while self.received_secs(since) < secs:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.received_secs(since):.1f} s of {secs:.1f} s arrived")
            await asyncio.sleep(0.05)

    def longest_gap(self, since: float, until: float) -> float:
        """The longest wait between two media messages in a period (an underrun if long)."""
        times = [r.at for r in self.received if since <= r.at <= until]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def speech_times(self) -> list[float]:
        """Arrival times of the media messages that carry agent speech."""
        return [r.at for r in self.received if rms(r.pcm) > self.speech_rms]

    async def wait_for_speech(self, *, after: float = 0.0, within: float = 20.0) -> float:
        """When agent speech first arrives after ``after``."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            times = [t for t in self.speech_times() if t > after]
            if times:
                return times[0]
            await asyncio.sleep(0.02)
        raise TimeoutError("the agent said nothing")

    async def wait_for_quiet(self, quiet_secs: float = 1.0, within: float = 30.0) -> float:
        """Wait until no agent speech has arrived for ``quiet_secs``; return the last one."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            times = self.speech_times()
            if times and time.monotonic() - times[-1] > quiet_secs:
                return times[-1]
            await asyncio.sleep(0.05)
        raise TimeoutError("the agent did not stop speaking")


def alaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM to G.711 A-law bytes."""
    return audioop.lin2alaw(pcm, 2)


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law bytes to 16-bit PCM."""
    return audioop.alaw2lin(data, 2)


@dataclass
class FakeTelnyxCall(FakeTwilioCall):
    """Speaks Telnyx's side of a media stream (Media Streaming over WebSockets, RTP mode):
    ``stream_id`` at the top, snake_case fields, G.711 in ``codec`` both ways.

    With ``echo_outbound`` every frame is followed by one of the outbound track (what
    ``both_tracks`` adds: the callee's side of the line) carrying a loud tone.
    """

    codec: str = "PCMU"
    sample_rate: int = 8000
    client_state: str | None = None
    echo_outbound: bool = False

    def _opening(self) -> list[dict[str, Any]]:
        start = {
            "user_id": "3e6f995f-85f7-4705-9741-53b116d28237",
            "call_control_id": self.call_sid,
            "call_session_id": "ff55a038-6f5d-11ef-9692-02420aeffb1f",
            "from": "+13122010094",
            "to": "+13122123456",
            "client_state": self.client_state,
            "custom_parameters": self.custom_parameters,
            "media_format": {
                "encoding": self.codec,
                "sample_rate": self.sample_rate,
                "channels": 1,
            },
        }
        return [
            {"event": "connected", "version": "1.0.0"},
            {
                "event": "start",
                "sequence_number": "1",
                "stream_id": self.stream_sid,
                "start": start,
            },
        ]

    def _media(self, chunk: bytes, timestamp: int) -> list[dict[str, Any]]:
        def frame(track: str, payload: bytes) -> dict[str, Any]:
            media = {
                "track": track,
                "chunk": str(self._sequence - 1),
                "timestamp": str(timestamp),
                "payload": base64.b64encode(payload).decode(),
            }
            return {
                "event": "media",
                "sequence_number": str(self._sequence),
                "media": media,
                "stream_id": self.stream_sid,
            }

        frames = [frame("inbound", chunk)]
        if self.echo_outbound:
            frames.append(frame("outbound", self._encode(tone(secs=FRAME_SECS, level=0.5))))
        return frames

    def _stop(self) -> dict[str, Any]:
        stop = {"user_id": "3e6f995f-85f7-4705-9741-53b116d28237", "call_control_id": self.call_sid}
        return {
            "event": "stop",
            "sequence_number": str(self._sequence),
            "stop": stop,
            "stream_id": self.stream_sid,
        }

    def _encode(self, pcm8k: bytes) -> bytes:
        return alaw_encode(pcm8k) if self.codec == "PCMA" else ulaw_encode(pcm8k)

    def _decode(self, payload: bytes) -> bytes:
        return alaw_decode(payload) if self.codec == "PCMA" else ulaw_decode(payload)
