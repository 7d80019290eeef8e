"""Media scripts for the fake Twilio: the callee's side of an answered call's stream.

A media script is ``async def script(call: FakeCall) -> None``: it connects to
``call.stream_url`` (``ws://`` on loopback) with ``call.parameters`` as the stream's
custom parameters, talks, and returns when the call is over — it should leave when
``call.hung_up`` is set (our server hung up through the REST API). The script runs on
the fake's own event loop. :func:`silent_media` is one that holds the line in silence.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import websockets

if TYPE_CHECKING:
    from openrevox.testing.fake_twilio import FakeCall

MediaScript = Callable[["FakeCall"], Awaitable[None]]


async def silent_media(call: FakeCall) -> None:
    """Open the stream and send silence (20 ms mu-law frames) until the call is over."""
    stream_sid = "MZ" + uuid.uuid4().hex
    async with websockets.connect(call.stream_url, max_size=None) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(
            json.dumps(
                {
                    "event": "start",
                    "sequenceNumber": "1",
                    "streamSid": stream_sid,
                    "start": {
                        "streamSid": stream_sid,
                        "accountSid": call.value("AccountSid") or "",
                        "callSid": call.sid,
                        "tracks": ["inbound"],
                        "customParameters": call.parameters,
                        "mediaFormat": {
                            "encoding": "audio/x-mulaw",
                            "sampleRate": 8000,
                            "channels": 1,
                        },
                    },
                }
            )
        )
        silence = base64.b64encode(b"\xff" * 160).decode()
        sequence = 2

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.create_task(drain())
        try:
            while not call.hung_up.is_set() and not reader.done():
                media = {"track": "inbound", "payload": silence, "chunk": str(sequence)}
                message = {"event": "media", "streamSid": stream_sid, "media": media}
                await ws.send(json.dumps(message))
                sequence += 1
                await asyncio.sleep(0.02)
            if not reader.done():
                await ws.send(json.dumps({"event": "stop", "streamSid": stream_sid, "stop": {}}))
        except websockets.ConnectionClosed:
            pass
        finally:
            reader.cancel()
