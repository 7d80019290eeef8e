"""Telnyx Media Streaming: the WebSocket endpoint Telnyx connects to, and the call transport.

Telnyx opens the ``stream_url`` given to Call Control (dial or ``streaming_start``,
bidirectional in ``rtp`` mode) and sends JSON: ``connected``, ``start`` (``stream_id``
at the top; in ``start`` the ``call_control_id``, ``call_session_id``, ``from``, ``to``,
``client_state``, ``custom_parameters`` and the ``media_format``), then ``media`` (RTP
payloads without headers, base64, with a ``track``), ``dtmf``, ``mark``, ``error`` and
``stop``. We answer with ``media``, ``mark`` and ``clear``, in the stream's own codec.
Pipecat's ``TelnyxFrameSerializer`` converts G.711 (PCMU, PCMA) at 8 kHz; a stream in
another codec (G722, OPUS, AMR-WB, L16) is refused at ``start``: ask Call Control for
``PCMU`` or ``PCMA``. Frames of the outbound track (``both_tracks``) are ignored: they
are what the callee hears, not what they say.

Dialling through Telnyx Call Control is not built: the router is not mounted by the
app. A Telnyx telephony adapter mounts :func:`telnyx_media_router` with a handler that
checks the attempt's token in ``custom_parameters``, as the Twilio one does.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket
from pipecat.serializers.telnyx import TelnyxFrameSerializer

from openrevox.runtime.transports.media_stream import (
    MediaStreamTransport,
    StreamEvents,
    StreamOpening,
    StreamProtocolError,
    media_stream_router,
)

TELNYX_STREAM_PATH = "/telnyx/media-stream"
CODECS = ("PCMU", "PCMA")  # what Pipecat's serializer converts
LINE_RATE = 8000


class TelnyxProtocolError(StreamProtocolError):
    """The peer did not open the stream the way Telnyx does, or in a codec we lack."""


@dataclass(frozen=True)
class TelnyxStreamStart:
    """What Telnyx's ``start`` frame says about the stream and the call."""

    stream_id: str
    call_control_id: str | None
    call_session_id: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    client_state: str | None = None  # as sent: base64 of what Call Control was given
    custom_parameters: dict[str, str] = field(default_factory=dict)
    encoding: str = "PCMU"

    @classmethod
    def parse(cls, message: dict[str, Any]) -> TelnyxStreamStart:
        start = message.get("start") or {}
        stream_id = message.get("stream_id") or start.get("stream_id")
        if not stream_id:
            raise TelnyxProtocolError("the start frame has no stream_id")
        media_format = start.get("media_format") or {}
        encoding = str(media_format.get("encoding") or "PCMU").upper()
        rate = int(media_format.get("sample_rate") or LINE_RATE)
        if encoding not in CODECS or rate != LINE_RATE:
            raise TelnyxProtocolError(
                f"the stream is {encoding} at {rate} Hz; openrevox takes PCMU or PCMA at "
                f"{LINE_RATE} Hz (set the stream codec in Call Control)"
            )
        return cls(
            stream_id=str(stream_id),
            call_control_id=start.get("call_control_id"),
            call_session_id=start.get("call_session_id"),
            from_number=start.get("from"),
            to_number=start.get("to"),
            client_state=start.get("client_state"),
            custom_parameters={
                str(k): str(v) for k, v in (start.get("custom_parameters") or {}).items()
            },
            encoding=encoding,
        )

    def decoded_client_state(self) -> str | None:
        """``client_state`` as the text Call Control was given (Telnyx sends it base64)."""
        if self.client_state is None:
            return None
        try:
            return base64.b64decode(self.client_state, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TelnyxProtocolError("client_state is not base64 of UTF-8 text") from exc


class TelnyxMediaSerializer(StreamEvents, TelnyxFrameSerializer):
    """Pipecat's Telnyx serializer in the stream's codec both ways, without its REST
    hang-up (telephony hangs up), deaf to the outbound track, with the stream events
    both carriers share (``StreamEvents``)."""

    def __init__(self, start: TelnyxStreamStart) -> None:
        super().__init__(
            stream_id=start.stream_id,
            outbound_encoding=start.encoding,  # Pipecat's name for what Telnyx sends us
            inbound_encoding=start.encoding,  # and for what we send Telnyx
            call_control_id=start.call_control_id,
            params=TelnyxFrameSerializer.InputParams(auto_hang_up=False),
        )

    async def deserialize(self, data: str | bytes) -> Any:
        # Base64 has no quotes, so only a track (or another field) can match; parse to be sure.
        if isinstance(data, str) and '"outbound' in data and _track(data).startswith("outbound"):
            return None
        return await super().deserialize(data)


def _track(data: str) -> str:
    try:
        message = json.loads(data)
    except json.JSONDecodeError:
        return ""
    return str((message.get("media") or {}).get("track") or "")


class TelnyxCallTransport(MediaStreamTransport[TelnyxStreamStart]):
    """A Telnyx media stream as a call transport. Closing the stream does not end the
    call: Call Control hangs it up (``on_hangup``)."""

    name = "telnyx"
    serializer: TelnyxMediaSerializer

    def make_serializer(self, start: TelnyxStreamStart) -> TelnyxMediaSerializer:
        return TelnyxMediaSerializer(start)


TelnyxCallHandler = Callable[[WebSocket, TelnyxStreamStart], Awaitable[None]]
TELNYX_OPENING = StreamOpening("telnyx", TelnyxStreamStart.parse)


def telnyx_media_router(handler: TelnyxCallHandler, *, path: str = TELNYX_STREAM_PATH) -> APIRouter:
    """A router with the media-stream WebSocket; ``handler`` runs the call to its end."""
    return media_stream_router(TELNYX_OPENING, handler, path=path)
