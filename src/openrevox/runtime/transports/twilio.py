"""Twilio Media Streams: the WebSocket endpoint Twilio connects to, and the call transport.

Twilio opens ``wss://<server>/twilio/media-stream`` (from ``<Connect><Stream>``)
and sends JSON: ``connected``, ``start`` (stream and call ids, custom
parameters), then ``media`` (20 ms of 8 kHz mu-law, base64), ``mark``, ``dtmf``
and ``stop``. We answer with ``media`` and, when the caller barges in, ``clear``.
Pipecat's ``TwilioFrameSerializer`` converts audio; what Twilio and Telnyx share
(rates, the transport, the router) is in ``media_stream.py``.

:func:`twilio_media_router` reads the opening messages and hands the socket to a
handler that runs the call (a ``CallSession``; docs/audio.md shows the wiring);
:class:`TwilioCallTransport` gives the session the media legs as Pipecat processors
and carries out hang-up, transfer and keypad presses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket
from pipecat.serializers.twilio import TwilioFrameSerializer

from openrevox.runtime.transports.media_stream import (
    IN_SAMPLE_RATE,
    OUT_SAMPLE_RATE,
    MediaStreamTransport,
    StreamEvents,
    StreamOpening,
    StreamProtocolError,
    media_stream_router,
    phone_call_audio,
)

__all__ = ["IN_SAMPLE_RATE", "OUT_SAMPLE_RATE"]

MEDIA_STREAM_PATH = "/twilio/media-stream"
twilio_call_audio = phone_call_audio  # the call's audio at Twilio's rates


class TwilioProtocolError(StreamProtocolError):
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


class TwilioMediaSerializer(StreamEvents, TwilioFrameSerializer):
    """Pipecat's Twilio serializer without its REST hang-up (telephony hangs up), with
    the stream events both carriers share (``StreamEvents``)."""

    def __init__(self, start: TwilioStreamStart) -> None:
        super().__init__(
            stream_sid=start.stream_sid,
            call_sid=start.call_sid,
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )


class TwilioCallTransport(MediaStreamTransport[TwilioStreamStart]):
    """A Twilio media stream as a call transport. Closing the stream ends a
    ``<Connect><Stream>`` call unless more TwiML follows."""

    name = "twilio"
    serializer: TwilioMediaSerializer

    def make_serializer(self, start: TwilioStreamStart) -> TwilioMediaSerializer:
        return TwilioMediaSerializer(start)


CallHandler = Callable[[WebSocket, TwilioStreamStart], Awaitable[None]]
TWILIO_OPENING = StreamOpening("twilio", TwilioStreamStart.parse)


def twilio_media_router(handler: CallHandler, *, path: str = MEDIA_STREAM_PATH) -> APIRouter:
    """A router with the media-stream WebSocket; ``handler`` runs the call to its end."""
    return media_stream_router(TWILIO_OPENING, handler, path=path)
