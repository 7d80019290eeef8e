"""Twilio Media Streams: the WebSocket endpoint Twilio connects to, and the call transport.

Twilio opens ``wss://<server>/twilio/media-stream`` (from ``<Connect><Stream>``)
and sends JSON: ``connected``, ``start`` (stream and call ids, custom
parameters), then ``media`` (20 ms of 8 kHz mu-law, base64), ``mark``, ``dtmf``
and ``stop``. We answer with ``media`` and, when the caller barges in, ``clear``.
Pipecat's ``TwilioFrameSerializer`` converts audio; the pipeline runs at 16 kHz in
(pocketsphinx and Silero want it) and 8 kHz out (all a phone line carries).

:func:`twilio_media_router` reads the opening messages and hands the socket to a
handler that runs the call (a ``CallSession``; docs/audio.md shows the wiring);
:class:`TwilioCallTransport` gives the session the media legs as Pipecat processors
and carries out hang-up, transfer and keypad presses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from loguru import logger
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    Frame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputDTMFUrgentFrame,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketOutputTransport,
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)

from openrevox.config import Settings
from openrevox.runtime.audio.legs import AudioOptions, CallAudio
from openrevox.runtime.result import TransferRequest

MEDIA_STREAM_PATH = "/twilio/media-stream"
IN_SAMPLE_RATE = 16000  # pipeline input: pocketsphinx and Silero want 16 kHz
OUT_SAMPLE_RATE = 8000  # pipeline output: all a phone line carries
START_TIMEOUT_SECS = 10.0
# Audio is written in real time, so uninterruptible speech is playing if a chunk of it
# went out this recently.
_UNINTERRUPTIBLE_GRACE_SECS = 0.2


def twilio_call_audio(options: AudioOptions, settings: Settings) -> CallAudio:
    """The call's audio at Twilio's rates (recorded at 8 kHz, the line's quality)."""
    return CallAudio(
        options, settings, in_sample_rate=IN_SAMPLE_RATE, out_sample_rate=OUT_SAMPLE_RATE
    )


class TwilioProtocolError(Exception):
    """The peer did not open the stream the way Twilio does."""


@dataclass(frozen=True)
class TwilioStreamStart:
    """What Twilio's ``start`` message says about the stream and the call."""

    stream_sid: str
    call_sid: str | None
    account_sid: str | None
    custom_parameters: dict[str, str] = field(default_factory=dict)
    media_format: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, message: dict[str, Any]) -> TwilioStreamStart:
        start = message.get("start") or {}
        stream_sid = message.get("streamSid") or start.get("streamSid")
        if not stream_sid:
            raise TwilioProtocolError("the start message has no streamSid")
        return cls(
            stream_sid=str(stream_sid),
            call_sid=start.get("callSid"),
            account_sid=start.get("accountSid"),
            custom_parameters={
                str(k): str(v) for k, v in (start.get("customParameters") or {}).items()
            },
            media_format=dict(start.get("mediaFormat") or {}),
        )


async def read_stream_start(websocket: WebSocket) -> TwilioStreamStart:
    """Read ``connected`` (optional) and ``start``; raise on anything else."""
    while True:
        message = json.loads(await websocket.receive_text())
        event = message.get("event")
        if event == "connected":
            continue
        if event == "start":
            return TwilioStreamStart.parse(message)
        raise TwilioProtocolError(f"expected connected/start, got {event!r}")


class TwilioMediaSerializer(TwilioFrameSerializer):
    """Pipecat's Twilio serializer without its REST hang-up (telephony hangs up), noting
    ``mark`` and ``stop`` events, and sending no ``clear`` while uninterruptible speech
    plays (``clear`` makes Twilio drop the audio it has buffered)."""

    def __init__(self, start: TwilioStreamStart) -> None:
        super().__init__(
            stream_sid=start.stream_sid,
            call_sid=start.call_sid,
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
        self.stopped = False
        self.marks: list[str] = []
        self.clears_held = 0
        self._uninterruptible_until = 0.0

    def note_audio_written(self, interruptible: bool) -> None:
        """The output transport is writing a chunk of agent audio now."""
        if not interruptible:
            self._uninterruptible_until = time.monotonic() + _UNINTERRUPTIBLE_GRACE_SECS

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if isinstance(frame, InterruptionFrame) and time.monotonic() < self._uninterruptible_until:
            self.clears_held += 1
            return None
        return await super().serialize(frame)

    async def deserialize(self, data: str | bytes) -> Any:
        if isinstance(data, str) and '"media"' not in data[:40]:
            try:
                message = json.loads(data)
            except json.JSONDecodeError:
                message = {}
            if message.get("event") == "stop":
                self.stopped = True
                return None
            if message.get("event") == "mark":
                self.marks.append(str((message.get("mark") or {}).get("name")))
                return None
        return await super().deserialize(data)


class _TwilioOutput(FastAPIWebsocketOutputTransport):
    """Tells the serializer whether the audio being written may be interrupted (the
    transport copies chunks into new frames, losing the flag, before serializing)."""

    def __init__(self, media: FastAPIWebsocketTransport, serializer: TwilioMediaSerializer) -> None:
        old = media.output()
        super().__init__(media, old._client, media._params, name=old.name)
        self._serializer = serializer

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        self._serializer.note_audio_written(frame.interruptible)
        return await super().write_audio_frame(frame)


Hook = Callable[[], Awaitable[None]]
TransferHook = Callable[[TransferRequest], Awaitable[None]]


class TwilioCallTransport:
    """A Twilio media stream as a call transport (``runtime.transport.CallTransport``).

    ``hangup`` closes the stream, which ends a ``<Connect><Stream>`` call unless
    more TwiML follows; ``on_hangup``/``on_transfer`` let the telephony adapter do
    it through Twilio's REST API instead. Keypad presses are sent in-band as tones.
    """

    name = "twilio"

    def __init__(
        self,
        websocket: WebSocket,
        start: TwilioStreamStart,
        audio: CallAudio,
        *,
        on_hangup: Hook | None = None,
        on_transfer: TransferHook | None = None,
    ) -> None:
        self.websocket = websocket
        self.start = start
        self.audio = audio
        self.serializer = TwilioMediaSerializer(start)
        self.media = FastAPIWebsocketTransport(
            websocket,
            FastAPIWebsocketParams(
                audio_in_enabled=True,
                audio_out_enabled=True,
                audio_in_sample_rate=audio.in_sample_rate,
                audio_out_sample_rate=audio.out_sample_rate,
                audio_out_mixer=audio.mixer,
                audio_out_volume=audio.tts.output_volume,
                add_wav_header=False,
                serializer=self.serializer,
                allowed_origins=[],
            ),
        )
        self.output = _TwilioOutput(self.media, self.serializer)
        self.media._output = self.output  # the transport's own output, swapped for ours
        self.disconnected = asyncio.Event()
        self._hangup_listeners: list[Hook] = []
        self.media.add_event_handler("on_client_disconnected", self._on_disconnected)
        self._on_hangup = on_hangup
        self._on_transfer = on_transfer

    async def _on_disconnected(self, _transport: object, _websocket: object) -> None:
        self.disconnected.set()
        for listener in self._hangup_listeners:
            await listener()

    def input_processors(self) -> list[FrameProcessor]:
        """The media input; STT follows it (``CallAudio.pipeline_legs``)."""
        return [self.media.input()]

    def output_processors(self) -> list[FrameProcessor]:
        """After TTS: the thinking switch, the media output, the recorder."""
        return self.audio.media_outputs(self.output)

    def on_caller_hangup(self, callback: Hook) -> None:
        """Call ``callback`` when Twilio closes the stream (e.g. ``session.user_hung_up``)."""
        self._hangup_listeners.append(callback)

    async def hangup(self) -> None:
        if self._on_hangup is not None:
            await self._on_hangup()
            return
        if not self.disconnected.is_set():
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # already closed
                await self.websocket.close()

    async def transfer(self, request: TransferRequest) -> None:
        if self._on_transfer is None:
            raise NotImplementedError("transfers need the Twilio telephony adapter")
        await self._on_transfer(request)

    async def send_dtmf(self, digits: str) -> None:
        for digit in digits:
            await self.output.write_dtmf(OutputDTMFUrgentFrame(button=KeypadEntry(digit)))


CallHandler = Callable[[WebSocket, TwilioStreamStart], Awaitable[None]]


def twilio_media_router(handler: CallHandler, *, path: str = MEDIA_STREAM_PATH) -> APIRouter:
    """A router with the media-stream WebSocket; ``handler`` runs the call to its end."""
    router = APIRouter()

    @router.websocket(path)
    async def media_stream(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            async with asyncio.timeout(START_TIMEOUT_SECS):
                start = await read_stream_start(websocket)
        except (TwilioProtocolError, TimeoutError, ValueError, WebSocketDisconnect) as exc:
            logger.warning(f"twilio media stream refused: {exc!r}")
            await _close(websocket, code=1008)
            return
        try:
            await handler(websocket, start)
        finally:
            await _close(websocket)

    return router


async def _close(websocket: WebSocket, code: int = 1000) -> None:
    from starlette.websockets import WebSocketState

    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code)
