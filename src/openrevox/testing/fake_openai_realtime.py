"""A fake of OpenAI's Realtime API (speech to speech, GA events) on loopback, for tests.

``FakeOpenAIRealtime`` serves ``ws://127.0.0.1:<port>/v1/realtime`` with the
``websockets`` threaded server: one thread per connection, events as JSON text frames.
It speaks the part of the protocol Pipecat's ``OpenAIRealtimeLLMService`` uses:

- on connect ``session.created``; ``session.update`` -> ``session.updated`` (kept in
  ``sessions``);
- ``conversation.item.create`` -> ``conversation.item.added`` and ``.done`` (kept in
  ``items``);
- ``input_audio_buffer.append`` (PCM16, 24 kHz): a server VAD on loudness. Speech
  starts with a loud chunk (``input_audio_buffer.speech_started``) and stops after
  ``silence_secs`` of quiet (``speech_stopped``, ``committed``, the user's item and
  ``conversation.item.input_audio_transcription.completed`` with the next of
  ``transcripts``), then a response is created, as with ``create_response: true``;
- ``conversation.item.truncate``: kept in ``truncations``;
- ``response.create`` -> an ``error`` event if one is queued (``fail_next_response``),
  else the next scripted reply (``fake_openai``'s ``Reply``, ``say``,
  ``call``): text as ``response.output_text.delta`` or, with audio output, as
  ``response.output_audio.delta`` (``voice(text)``, or a tone lasting ``audio_secs``) with
  ``response.output_audio_transcript.delta``; a tool call as a ``function_call`` item
  and ``response.function_call_arguments.done``; then ``response.done``.

Each response request is kept in ``responses`` with the conversation at that moment
and the response's own instructions.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import struct
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from openrevox.testing.fake_openai import Reply, ReplyLike, ToolCall, as_reply, text_pieces

SAMPLE_RATE = 24000  # the session's PCM16 rate, both ways
PATH = "/v1/realtime"


@dataclass
class ResponseRequest:
    """One response the model was asked for, and what it knew then."""

    items: list[dict[str, Any]]
    instructions: str | None
    tools: list[str]
    modalities: list[str]
    response_instructions: str | None = None  # given with this response.create only


@dataclass
class _Connection:
    """Per-connection state: the conversation and the VAD."""

    ws: ServerConnection
    session: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    speaking: bool = False
    quiet_secs: float = 0.0
    heard_secs: float = 0.0
    speech_item: str = ""


class FakeOpenAIRealtime:
    """The Realtime API on loopback; use as a (sync) context manager."""

    def __init__(
        self,
        *,
        audio_secs: float = 0.5,
        silence_secs: float = 0.5,
        loud_rms: float = 0.02,
        model: str = "gpt-realtime",
        voice: Callable[[str], bytes] | None = None,
        api_key: str | None = None,
    ) -> None:
        """``voice`` renders a reply's words as 24 kHz PCM16 (default: a 440 Hz tone of
        ``audio_secs``). With ``api_key``, another bearer token gets OpenAI's answer: an
        ``error`` event (``invalid_api_key``), then the socket closed with code 3000."""
        self.voice = voice
        self.api_key = api_key
        self.audio_secs = audio_secs
        self.silence_secs = silence_secs
        self.loud_rms = loud_rms
        self.model = model
        self.sessions: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.responses: list[ResponseRequest] = []
        self.headers: list[dict[str, str]] = []
        self.truncations: list[dict[str, Any]] = []
        self.transcripts: deque[str] = deque()
        self.audio_received_secs = 0.0
        self._replies: deque[Reply] = deque()
        self._failures: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ---- the test's side ----

    def add(self, *replies: ReplyLike) -> None:
        """Queue replies; each ``response.create`` (or end of user speech) takes one."""
        with self._lock:
            self._replies.extend(as_reply(r) for r in replies)

    def fail_next_response(self, code: str = "server_error", message: str = "boom") -> None:
        """Answer the next ``response.create`` with an ``error`` event instead."""
        with self._lock:
            self._failures.append(_error(code, code, message))

    def hears(self, *transcripts: str) -> None:
        """What the next user utterances will be transcribed as, in order."""
        with self._lock:
            self.transcripts.extend(transcripts)

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>/v1/realtime`` (Pipecat's ``base_url``)."""
        if self._server is None:
            raise RuntimeError("the fake realtime server is not started")
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}{PATH}"

    def start(self) -> Self:
        self._server = serve(self._serve, "127.0.0.1", 0, close_timeout=1)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-openai-realtime", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---- the server's side ----

    def _serve(self, ws: ServerConnection) -> None:
        request = ws.request
        if request is None or not request.path.startswith(PATH):
            ws.close(code=1008, reason="no such endpoint")
            return
        headers = {k.lower(): v for k, v in request.headers.raw_items()}
        self.headers.append(headers)
        conn = _Connection(ws, session={"type": "realtime", "model": self.model})
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            error = _error(
                "invalid_request_error", "invalid_api_key", "Incorrect API key provided."
            )
            self._send(conn, "error", error=error)
            ws.close(code=3000, reason="invalid_request_error.invalid_api_key")
            return
        self._send(conn, "session.created", session=conn.session)
        try:
            for raw in ws:
                event = json.loads(raw)
                self._handle(conn, event)
        except ConnectionClosed:
            pass

    def _handle(self, conn: _Connection, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "session.update":
            conn.session.update(event.get("session") or {})
            self.sessions.append(dict(event.get("session") or {}))
            self._send(conn, "session.updated", session=conn.session)
        elif kind == "conversation.item.create":
            item = {"object": "realtime.item", "status": "completed", **event["item"]}
            self._add_item(conn, item)
        elif kind == "input_audio_buffer.append":
            self._hear(conn, base64.b64decode(event.get("audio") or ""))
        elif kind == "response.create" and self._failures:
            with self._lock:
                error = self._failures.popleft()
            self._send(conn, "error", error=error)
        elif kind == "response.create":
            response = event.get("response") or {}
            self._respond(conn, response.get("output_modalities"), response.get("instructions"))
        elif kind == "conversation.item.truncate":
            with self._lock:
                self.truncations.append(event)  # how much of a reply the caller heard
        elif kind == "response.cancel":
            pass  # the fake's responses are over before anything can cancel them
        elif kind == "input_audio_buffer.clear":
            self._send(conn, "input_audio_buffer.cleared")

    def _add_item(self, conn: _Connection, item: dict[str, Any]) -> None:
        conn.items.append(item)
        with self._lock:
            self.items.append(item)
        previous = conn.items[-2]["id"] if len(conn.items) > 1 else None
        self._send(conn, "conversation.item.added", previous_item_id=previous, item=item)
        self._send(conn, "conversation.item.done", previous_item_id=previous, item=item)

    def _hear(self, conn: _Connection, pcm: bytes) -> None:
        """The server VAD: loud chunks are speech; ``silence_secs`` of quiet ends it.
        Off when the session's ``turn_detection`` is ``null`` or ``false``."""
        secs = len(pcm) / 2 / SAMPLE_RATE
        self.audio_received_secs += secs
        conn.heard_secs += secs
        turn_detection = ((conn.session.get("audio") or {}).get("input") or {}).get(
            "turn_detection", {}
        )
        if not isinstance(turn_detection, dict):
            return
        at_ms = int(conn.heard_secs * 1000)
        if _rms(pcm) > self.loud_rms:
            conn.quiet_secs = 0.0
            if not conn.speaking:
                conn.speaking, conn.speech_item = True, _id("item")
                self._send(
                    conn,
                    "input_audio_buffer.speech_started",
                    audio_start_ms=at_ms,
                    item_id=conn.speech_item,
                )
            return
        if not conn.speaking:
            return
        conn.quiet_secs += secs
        if conn.quiet_secs < self.silence_secs:
            return
        conn.speaking = False
        item_id = conn.speech_item
        self._send(conn, "input_audio_buffer.speech_stopped", audio_end_ms=at_ms, item_id=item_id)
        self._send(conn, "input_audio_buffer.committed", item_id=item_id)
        with self._lock:
            transcript = self.transcripts.popleft() if self.transcripts else ""
        content = [{"type": "input_audio", "transcript": transcript}]
        item = {"id": item_id, "type": "message", "role": "user", "content": content}
        self._add_item(conn, {"object": "realtime.item", "status": "completed", **item})
        self._send(
            conn,
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=transcript,
        )
        if turn_detection.get("create_response", True) is not False:
            self._respond(conn, None)

    def _respond(
        self, conn: _Connection, modalities: list[str] | None, instructions: str | None = None
    ) -> None:
        modalities = list(modalities or conn.session.get("output_modalities") or ["audio"])
        tools = [str(t.get("name")) for t in conn.session.get("tools") or []]
        with self._lock:
            self.responses.append(
                ResponseRequest(
                    list(conn.items),
                    conn.session.get("instructions"),
                    tools,
                    modalities,
                    instructions,
                )
            )
            reply = self._replies.popleft() if self._replies else Reply(text="OK.")
        response_id = _id("resp")
        response = {"id": response_id, "object": "realtime.response", "status": "in_progress"}
        self._send(conn, "response.created", response={**response, "output": []})
        output: list[dict[str, Any]] = []
        if reply.text:
            output.append(self._message(conn, response_id, len(output), reply.text, modalities))
        for tool in reply.tool_calls:
            output.append(self._function_call(conn, response_id, len(output), tool))
        usage = {"total_tokens": 30, "input_tokens": 20, "output_tokens": 10}
        done = {**response, "status": "completed", "output": output, "usage": usage}
        self._send(conn, "response.done", response=done)

    def _message(
        self, conn: _Connection, response_id: str, index: int, text: str, modalities: list[str]
    ) -> dict[str, Any]:
        item = {
            "id": _id("item"),
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
        }
        audio = "audio" in modalities
        where = {"response_id": response_id, "item_id": item["id"], "output_index": index}

        def content() -> None:
            kind = "output_audio_transcript" if audio else "output_text"
            for piece in text_pieces(text):
                self._send(conn, f"response.{kind}.delta", **where, content_index=0, delta=piece)
            for chunk in self._voice_chunks(text) if audio else ():
                self._send(
                    conn, "response.output_audio.delta", **where, content_index=0, delta=chunk
                )

        part = (
            {"type": "output_audio", "transcript": text}
            if audio
            else {"type": "output_text", "text": text}
        )
        done = {**item, "status": "completed", "content": [part]}
        self._output(
            conn,
            response_id,
            index,
            {**item, "status": "in_progress", "content": []},
            content,
            done,
        )
        return done

    def _voice_chunks(self, text: str, chunk_secs: float = 0.1) -> Iterator[str]:
        """The reply's audio as base64 PCM16 chunks."""
        if self.voice is None:
            yield from _tone_chunks(self.audio_secs, chunk_secs)
            return
        pcm = self.voice(text)
        step = 2 * int(chunk_secs * SAMPLE_RATE)
        for start in range(0, len(pcm), step):
            yield base64.b64encode(pcm[start : start + step]).decode()

    def _function_call(
        self, conn: _Connection, response_id: str, index: int, tool: ToolCall
    ) -> dict[str, Any]:
        item_id, call_id, arguments = _id("item"), _id("call"), json.dumps(tool.arguments)
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call",
            "name": tool.name,
        }
        item["call_id"] = call_id

        def content() -> None:
            self._send(
                conn,
                "response.function_call_arguments.done",
                response_id=response_id,
                item_id=item_id,
                output_index=index,
                call_id=call_id,
                arguments=arguments,
            )

        done = {**item, "status": "completed", "arguments": arguments}
        self._output(
            conn,
            response_id,
            index,
            {**item, "status": "in_progress", "arguments": ""},
            content,
            done,
        )
        return done

    def _output(
        self,
        conn: _Connection,
        response_id: str,
        index: int,
        started: dict[str, Any],
        content: Callable[[], None],
        done: dict[str, Any],
    ) -> None:
        """One output item of a response: added (to the response and the conversation),
        its content events, done."""
        where = {"response_id": response_id, "output_index": index}
        self._send(conn, "response.output_item.added", **where, item=started)
        self._send(conn, "conversation.item.added", item=started)
        content()
        conn.items.append(done)
        self._send(conn, "conversation.item.done", item=done)
        self._send(conn, "response.output_item.done", **where, item=done)

    def _send(self, conn: _Connection, kind: str, **fields: Any) -> None:
        with contextlib.suppress(ConnectionClosed):  # the client left: nothing to tell
            conn.ws.send(json.dumps({"type": kind, "event_id": _id("event"), **fields}))


def _error(kind: str, code: str, message: str) -> dict[str, Any]:
    """The ``error`` of an ``error`` event."""
    return {"type": kind, "code": code, "message": message, "param": None, "event_id": None}


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def _rms(pcm: bytes) -> float:
    count = len(pcm) // 2
    if not count:
        return 0.0
    samples = struct.unpack(f"<{count}h", pcm[: 2 * count])
    return math.sqrt(sum(s * s for s in samples) / count) / 32768


def _tone_chunks(secs: float, chunk_secs: float = 0.1) -> Iterator[str]:
    """``secs`` of a 440 Hz tone at -14 dBFS as base64 PCM16 chunks (the agent's voice)."""
    total = int(secs * SAMPLE_RATE)
    step = int(chunk_secs * SAMPLE_RATE)
    for start in range(0, total, step):
        count = min(step, total - start)
        samples = (
            int(6000 * math.sin(2 * math.pi * 440 * (start + i) / SAMPLE_RATE))
            for i in range(count)
        )
        yield base64.b64encode(struct.pack(f"<{count}h", *samples)).decode()
