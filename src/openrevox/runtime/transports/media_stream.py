"""What phone media streams share (Twilio Media Streams, Telnyx Media Streaming).

The carrier opens a WebSocket to us and sends JSON: an optional ``connected``, a
``start`` naming the stream and the call, then ``media`` (20 ms of 8 kHz G.711, base64),
``mark``, ``dtmf`` and ``stop``. We answer with ``media`` and, when the caller barges
in, ``clear``. A Pipecat serializer per carrier converts audio; the pipeline runs at
16 kHz in (pocketsphinx and Silero want it) and 8 kHz out (all a phone line carries).

:func:`media_stream_router` reads the opening messages with the carrier's reader and
hands the socket to a handler that runs the call; :class:`MediaStreamTransport` gives
the session the media legs as Pipecat processors and carries out hang-up, transfer and
keypad presses. :class:`StreamEvents` is the serializer behaviour both carriers need.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from loguru import logger
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import Frame, InterruptionFrame, OutputAudioRawFrame
from pipecat.frames.frames import OutputDTMFUrgentFrame as DTMFFrame
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketOutputTransport,
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from starlette.websockets import WebSocketState

from openrevox.config import Settings
from openrevox.runtime.audio.legs import AudioOptions, CallAudio
from openrevox.runtime.result import TransferRequest

IN_SAMPLE_RATE = 16000  # pipeline input: pocketsphinx and Silero want 16 kHz
OUT_SAMPLE_RATE = 8000  # pipeline output: all a phone line carries
START_TIMEOUT_SECS = 10.0
# Audio is written in real time, so uninterruptible speech is playing if a chunk of it
# went out this recently.
_UNINTERRUPTIBLE_GRACE_SECS = 0.2

Start = TypeVar("Start")
Hook = Callable[[], Awaitable[None]]
TransferHook = Callable[[TransferRequest], Awaitable[None]]


def phone_call_audio(options: AudioOptions, settings: Settings) -> CallAudio:
    """The call's audio at a phone line's rates (recorded at 8 kHz, the line's quality)."""
    return CallAudio(
        options, settings, in_sample_rate=IN_SAMPLE_RATE, out_sample_rate=OUT_SAMPLE_RATE
    )


class StreamProtocolError(Exception):
    """The peer did not open the stream the way the carrier does."""


class StreamEvents(FrameSerializer):
    """Serializer behaviour both carriers need, put before the carrier's own serializer:
    notes ``mark`` and ``stop`` (and ``error``), and sends no ``clear`` while
    uninterruptible speech plays (``clear`` makes the carrier drop the audio it has
    buffered)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopped = False
        self.marks: list[str] = []
        self.errors: list[dict[str, Any]] = []
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
        # The carrier's serializer comes next in the MRO (a mixin: see the class).
        return await super().serialize(frame)  # type: ignore[safe-super]

    async def deserialize(self, data: str | bytes) -> Any:
        # Media messages (50 a second per call) go straight to the carrier's serializer.
        if isinstance(data, str) and '"media"' not in data[:40]:
            try:
                message = json.loads(data)
            except json.JSONDecodeError:
                message = {}
            event = message.get("event")
            if event == "stop":
                self.stopped = True
                return None
            if event == "mark":
                self.marks.append(str((message.get("mark") or {}).get("name")))
                return None
            if event == "error":
                self.errors.append(message)
                logger.warning(f"media stream error from the carrier: {message}")
                return None
        return await super().deserialize(data)  # type: ignore[safe-super]


class _MediaOutput(FastAPIWebsocketOutputTransport):
    """Tells the serializer whether the audio being written may be interrupted (the
    transport copies chunks into new frames, losing the flag, before serializing)."""

    def __init__(self, media: FastAPIWebsocketTransport, serializer: StreamEvents) -> None:
        old = media.output()
        super().__init__(media, old._client, media._params, name=old.name)
        self._serializer = serializer

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        self._serializer.note_audio_written(frame.interruptible)
        return await super().write_audio_frame(frame)


class MediaStreamTransport(Generic[Start]):
    """A carrier's media stream as a call transport (``runtime.transport.CallTransport``).

    ``hangup`` closes the stream, which ends the call unless the carrier was told to do
    more; ``on_hangup``/``on_transfer`` let the telephony adapter do it through the
    carrier's REST API instead. Keypad presses are sent in-band as tones. A carrier's
    subclass names itself and makes its serializer from the stream's ``start``.
    """

    name = "media-stream"

    def __init__(
        self,
        websocket: WebSocket,
        start: Start,
        audio: CallAudio,
        *,
        on_hangup: Hook | None = None,
        on_transfer: TransferHook | None = None,
    ) -> None:
        self.websocket = websocket
        self.start = start
        self.audio = audio
        self.serializer = serializer = self.make_serializer(start)
        self.media = FastAPIWebsocketTransport(
            websocket,
            FastAPIWebsocketParams(
                audio_in_enabled=True,
                audio_out_enabled=True,
                audio_in_sample_rate=audio.in_sample_rate,
                audio_out_sample_rate=audio.out_sample_rate,
                audio_out_mixer=audio.mixer,
                audio_out_volume=audio.output_volume,
                add_wav_header=False,
                serializer=serializer,
                allowed_origins=[],
            ),
        )
        self.output = _MediaOutput(self.media, serializer)
        self.media._output = self.output  # the transport's own output, swapped for ours
        self.disconnected = asyncio.Event()
        self._hangup_listeners: list[Hook] = []
        self.media.add_event_handler("on_client_disconnected", self._on_disconnected)
        self._on_hangup = on_hangup
        self._on_transfer = on_transfer

    def make_serializer(self, start: Start) -> StreamEvents:
        """The carrier's serializer for this stream."""
        raise NotImplementedError

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
        """Call ``callback`` when the carrier closes the stream (``session.user_hung_up``)."""
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
            raise NotImplementedError(f"transfers need the {self.name} telephony adapter")
        await self._on_transfer(request)

    async def send_dtmf(self, digits: str) -> None:
        for digit in digits:
            await self.output.write_dtmf(DTMFFrame(button=KeypadEntry(digit)))


@dataclass(frozen=True)
class StreamOpening(Generic[Start]):
    """How a carrier opens its stream: its name (for the log) and the parser of its
    ``start`` message (raising ``StreamProtocolError`` when it lacks what we need)."""

    carrier: str
    parse_start: Callable[[dict[str, Any]], Start]

    async def read(self, websocket: WebSocket) -> Start:
        """Read ``connected`` (optional) and ``start``; raise on anything else."""
        while True:
            message = json.loads(await websocket.receive_text())
            event = message.get("event")
            if event == "connected":
                continue
            if event == "start":
                return self.parse_start(message)
            raise StreamProtocolError(f"expected connected/start, got {event!r}")


def media_stream_router(
    opening: StreamOpening[Start],
    handler: Callable[[WebSocket, Start], Awaitable[None]],
    *,
    path: str,
) -> APIRouter:
    """A router with the media-stream WebSocket; ``handler`` runs the call to its end.
    A peer that does not open the stream as the carrier does is closed with 1008."""
    router = APIRouter()

    @router.websocket(path)
    async def media_stream(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            async with asyncio.timeout(START_TIMEOUT_SECS):
                start = await opening.read(websocket)
        except (StreamProtocolError, TimeoutError, ValueError, WebSocketDisconnect) as exc:
            logger.warning(f"{opening.carrier} media stream refused: {exc!r}")
            await close_stream(websocket, code=1008)
            return
        try:
            await handler(websocket, start)
        finally:
            await close_stream(websocket)

    return router


async def close_stream(websocket: WebSocket, code: int = 1000) -> None:
    """Close the socket unless it already is."""
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code)
