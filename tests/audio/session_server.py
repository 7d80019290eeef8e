"""Test support: the real ``CallSession`` behind the Twilio media-stream endpoint.

This is how the pieces are wired for a phone call (docs/audio.md): the assistant's
audio options make a ``CallAudio``; the Twilio transport carries the media; the session
takes the transport and ``audio.pipeline_legs()``. Each test dials by name with the
assistant fields it changes and reads the session's result once it is done.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, WebSocket

from openrevox.config import Settings
from openrevox.runtime.audio.legs import AudioOptions, CallAudio
from openrevox.runtime.call_config import resolve_call_config
from openrevox.runtime.result import CallResult
from openrevox.runtime.session import CallSession
from openrevox.runtime.transports.twilio import (
    MEDIA_STREAM_PATH,
    TwilioCallTransport,
    TwilioStreamStart,
    twilio_call_audio,
    twilio_media_router,
)

from .twilio_peer import FakeTwilioCall, serve

Model = TypeVar("Model")


@dataclass
class SessionCall:
    """One test call: the assistant fields it changes, and what the session left."""

    assistant: dict[str, Any]
    recording: Path
    inactivity_secs: float = 30.0
    audio: CallAudio | None = None
    result: CallResult | None = None
    done: threading.Event = field(default_factory=threading.Event)

    async def outcome(self, within: float = 10.0) -> CallResult:
        """The session's result, once it has finished (the server runs in a thread)."""
        assert await asyncio.to_thread(self.done.wait, within), "the session did not finish"
        assert self.result is not None
        return self.result


@dataclass
class SessionServer(Generic[Model]):
    """The endpoint's URL and the fake model behind the sessions."""

    url: str
    model: Model
    calls: dict[str, SessionCall] = field(default_factory=dict)

    def dial(self, name: str, session_call: SessionCall) -> FakeTwilioCall:
        self.calls[name] = session_call
        return FakeTwilioCall(f"{self.url}{MEDIA_STREAM_PATH}", {"call_id": name})


@contextmanager
def session_server(
    settings: Settings, assistant: dict[str, Any], model: Model
) -> Iterator[SessionServer[Model]]:
    """uvicorn on a loopback port running a ``CallSession`` per media stream, on
    ``assistant`` with each call's changes."""
    calls: dict[str, SessionCall] = {}

    async def handler(websocket: WebSocket, start: TwilioStreamStart) -> None:
        this = calls[start.custom_parameters["call_id"]]
        config = resolve_call_config(
            {**assistant, **this.assistant}, {}, user_inactivity_secs=this.inactivity_secs
        )
        options = AudioOptions.from_assistant(config.assistant, recording_path=this.recording)
        audio = twilio_call_audio(options, settings)
        transport = TwilioCallTransport(websocket, start, audio)
        session = CallSession(config, transport, settings=settings, audio=audio.pipeline_legs())
        transport.on_caller_hangup(session.user_hung_up)
        this.audio = audio
        try:
            this.result = await session.run()
        finally:
            this.done.set()

    app = FastAPI()
    app.include_router(twilio_media_router(handler))
    with serve(app) as url:
        yield SessionServer(url, model, calls)
