"""Telnyx Media Streaming end to end over a real WebSocket, and its frames one by one.

uvicorn serves ``telnyx_media_router`` on loopback; a fake Telnyx caller streams piper
speech in real time in the stream's codec (PCMU or PCMA); the server hears it with
pocketsphinx, asks the fake OpenAI-compatible LLM, speaks the reply with piper; the
test transcribes what came back in that codec.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import websockets
from fastapi import FastAPI, WebSocket
from pipecat.frames.frames import InputAudioRawFrame, InterruptionFrame, OutputAudioRawFrame
from pipecat.processors.frame_processor import FrameProcessorSetup

from openrevox.runtime.audio.legs import AudioOptions
from openrevox.runtime.audio.pipeline import build_voice_pipeline
from openrevox.runtime.transports.media_stream import phone_call_audio
from openrevox.runtime.transports.telnyx import (
    TELNYX_STREAM_PATH,
    TelnyxCallTransport,
    TelnyxMediaSerializer,
    TelnyxProtocolError,
    TelnyxStreamStart,
    telnyx_media_router,
)
from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, Reply

from .conftest import (
    AGENT_SAYS,
    assert_booking_understood,
    booking_llm,
    hold_booking,
    local_speech_settings,
)
from .twilio_peer import FakeTelnyxCall, serve, tone, ulaw_encode

START = {
    "event": "start",
    "sequence_number": "1",
    "stream_id": "32de0dea-53cb-4b21-89a4-9e1819c043bc",
    "start": {
        "call_control_id": "v3:abc",
        "call_session_id": "ff55a038",
        "from": "+13122010094",
        "to": "+13122123456",
        "client_state": base64.b64encode(b"attempt=a-1").decode(),
        "custom_parameters": {"token": "t-1"},
        "media_format": {"encoding": "PCMA", "sample_rate": 8000, "channels": 1},
    },
}


@dataclass
class Stream:
    """One test call's server side."""

    transport: TelnyxCallTransport | None = None
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class Server:
    url: str
    llm: FakeOpenAI
    streams: dict[str, Stream] = field(default_factory=dict)
    handled: int = 0

    def call(self, name: str, **kwargs: object) -> FakeTelnyxCall:
        self.streams[name] = Stream()
        url = f"{self.url}{TELNYX_STREAM_PATH}"
        return FakeTelnyxCall(url, {"stream": name}, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    settings = local_speech_settings()
    holder: dict[str, Server] = {}

    def answer(request: FakeRequest) -> Reply:
        if "book" in (request.last_user_text or ""):
            return Reply(text=AGENT_SAYS)
        return Reply(text="Of course, go ahead.")

    async def handler(websocket: WebSocket, start: TelnyxStreamStart) -> None:
        server = holder["server"]
        server.handled += 1
        stream = server.streams[start.custom_parameters["stream"]]
        audio = phone_call_audio(AudioOptions(), settings)
        transport = TelnyxCallTransport(websocket, start, audio)
        stream.transport = transport
        llm = booking_llm(server.llm.base_url)
        try:
            await build_voice_pipeline(transport, audio, llm).run()
        finally:
            stream.done.set()

    app = FastAPI()
    app.include_router(telnyx_media_router(handler))
    with FakeOpenAI(handler=answer) as llm, serve(app) as url:
        holder["server"] = Server(url, llm)
        yield holder["server"]


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
async def test_a_telnyx_caller_and_the_agent_understand_each_other(
    server: Server, codec: str
) -> None:
    """Speech in the stream's codec reaches the LLM as words; the reply comes back in that
    codec. The caller's line also carries the outbound track (a loud tone in every
    frame): were it heard, the caller would never stop speaking and nobody would reply."""
    async with server.call(codec, codec=codec, echo_outbound=True) as call:
        heard = await hold_booking(call)
    assert_booking_understood(server.llm, heard)
    # Telnyx's stop frame ends the call.
    stream = server.streams[codec]
    assert await asyncio.to_thread(stream.done.wait, 10)
    assert stream.transport is not None and stream.transport.serializer.stopped


async def test_a_stream_in_a_codec_we_lack_is_refused(server: Server) -> None:
    handled = server.handled
    call = server.call("g722", codec="G722")
    async with websockets.connect(call.url) as ws:
        for message in call._opening():
            await ws.send(json.dumps(message))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert server.handled == handled


def test_the_start_frame_is_parsed() -> None:
    start = TelnyxStreamStart.parse(START)
    assert (start.stream_id, start.call_control_id, start.call_session_id) == (
        "32de0dea-53cb-4b21-89a4-9e1819c043bc",
        "v3:abc",
        "ff55a038",
    )
    assert (start.from_number, start.to_number) == ("+13122010094", "+13122123456")
    assert start.custom_parameters == {"token": "t-1"}
    assert (start.encoding, start.decoded_client_state()) == ("PCMA", "attempt=a-1")
    with pytest.raises(TelnyxProtocolError, match="no stream_id"):
        TelnyxStreamStart.parse({"event": "start", "start": {}})
    opus = {**START, "start": {**START["start"], "media_format": {"encoding": "OPUS"}}}  # type: ignore[dict-item]
    with pytest.raises(TelnyxProtocolError, match="PCMU or PCMA"):
        TelnyxStreamStart.parse(opus)
    wide = {"encoding": "PCMU", "sample_rate": 16000}
    with pytest.raises(TelnyxProtocolError, match="16000 Hz"):
        TelnyxStreamStart.parse({**START, "start": {"media_format": wide}})
    bad_state = TelnyxStreamStart.parse({**START, "start": {"client_state": "%%%"}})
    with pytest.raises(TelnyxProtocolError, match="client_state"):
        bad_state.decoded_client_state()


async def test_the_serializer_speaks_telnyx_frames() -> None:
    start = TelnyxStreamStart.parse({**START, "start": {**START["start"], "media_format": {}}})  # type: ignore[dict-item]
    serializer = TelnyxMediaSerializer(start)
    setup: Any = FrameProcessorSetup(
        clock=None,  # type: ignore[arg-type]
        task_manager=None,  # type: ignore[arg-type]
        pipeline_worker=None,  # type: ignore[arg-type]
        audio_in_sample_rate=16000,
    )
    await serializer.setup(setup)
    payload = base64.b64encode(ulaw_encode(tone(secs=0.02))).decode()

    def media(track: str) -> str:
        frame = {"track": track, "chunk": "2", "timestamp": "5", "payload": payload}
        return json.dumps({"event": "media", "sequence_number": "3", "media": frame})

    # Pipecat's stream resampler gives its output in ~100 ms pieces: send 400 ms.
    heard = [await serializer.deserialize(media("inbound")) for _ in range(20)]
    frames = [f for f in heard if f is not None]
    assert frames and all(isinstance(f, InputAudioRawFrame) for f in frames)
    assert all(f.sample_rate == 16000 for f in frames)
    assert 0.3 < sum(len(f.audio) for f in frames) / 2 / 16000 <= 0.4
    assert [await serializer.deserialize(media("outbound")) for _ in range(5)] == [None] * 5
    assert await serializer.deserialize('{"event": "mark", "mark": {"name": "m1"}}') is None
    error = {"event": "error", "payload": {"code": 100002, "title": "Unknown error"}}
    assert await serializer.deserialize(json.dumps(error)) is None
    assert not serializer.stopped
    assert await serializer.deserialize('{"event": "stop", "stop": {}}') is None
    assert (serializer.marks, serializer.errors, serializer.stopped) == (["m1"], [error], True)

    assert json.loads(await serializer.serialize(InterruptionFrame()) or "") == {"event": "clear"}
    out = OutputAudioRawFrame(audio=bytes(320), sample_rate=8000, num_channels=1)
    sent = json.loads(await serializer.serialize(out) or "")
    assert sent["event"] == "media" and len(base64.b64decode(sent["media"]["payload"])) == 160
    serializer.note_audio_written(interruptible=False)  # uninterruptible speech playing
    assert await serializer.serialize(InterruptionFrame()) is None
    assert serializer.clears_held == 1
    await asyncio.sleep(0.25)
    assert await serializer.serialize(InterruptionFrame()) is not None
