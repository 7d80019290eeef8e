"""A local fake of an OpenAI-compatible chat-completions server, for tests.

It listens on loopback with real HTTP, answers ``POST .../chat/completions`` in
streaming (server-sent events with content and ``tool_calls`` deltas) and
non-streaming form, and records every request. Replies come from a script (a list
consumed in order) or from a function of the request::

    with FakeOpenAI([say("Hello!"), call("end_call", reason="done")]) as llm:
        settings = Settings(openai_base_url=llm.base_url, openai_api_key="k")
        ...
        assert llm.requests[0].messages[0]["role"] == "system"

A reply is a string (the agent's text), a :class:`ToolCall`, a list of tool calls,
or a :class:`Reply` for anything else (text and tool calls together, an HTTP error,
a delay before answering). :func:`answer_json` replies with a JSON document as the
message's text, as a model in JSON mode (``response_format``) does.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from openrevox.testing.loopback import LoopbackServer

__all__ = [
    "FakeOpenAI",
    "FakeRequest",
    "Reply",
    "ToolCall",
    "answer_json",
    "call",
    "say",
]


@dataclass(frozen=True)
class ToolCall:
    """The model calls the tool ``name`` with ``arguments``."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A full reply: text, tool calls, or an HTTP error (``status`` >= 400)."""

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    status: int = 200
    error: str = "fake error"
    delay: float = 0.0


ReplyLike = str | ToolCall | Sequence[ToolCall] | Reply


def say(text: str) -> Reply:
    """A text-only reply."""
    return Reply(text=text)


def call(tool: str, text: str = "", /, **arguments: Any) -> Reply:
    """A reply that calls ``tool`` with ``arguments`` (and optional ``text`` before it)."""
    return Reply(text=text, tool_calls=[ToolCall(tool, arguments)])


def answer_json(document: Any) -> Reply:
    """A text reply holding ``document`` serialised as JSON (JSON-mode answers)."""
    return Reply(text=json.dumps(document))


@dataclass(frozen=True)
class FakeRequest:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def response_format(self) -> dict[str, Any] | None:
        """The ``response_format`` asked for (``{"type": "json_object"}``), if any."""
        value = self.body.get("response_format")
        return dict(value) if isinstance(value, dict) else None

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.body.get("tools") or []]

    def tool(self, name: str) -> dict[str, Any]:
        """The JSON schema of one advertised tool (its ``function`` object)."""
        for tool in self.body.get("tools") or []:
            if tool["function"]["name"] == name:
                return dict(tool["function"])
        raise KeyError(f"tool {name!r} was not advertised; got {self.tool_names}")

    @property
    def system_prompt(self) -> str:
        return "\n".join(
            str(m.get("content") or "") for m in self.messages if m.get("role") == "system"
        )

    @property
    def last_user_text(self) -> str | None:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return str(message.get("content"))
        return None


Handler = Callable[[FakeRequest], ReplyLike]


class FakeOpenAI(LoopbackServer):
    """A chat-completions server on ``127.0.0.1``; use as a (sync) context manager.

    ``replies`` are given in order, one per request; when they run out ``default``
    answers. ``handler``, if given, decides every reply instead.
    """

    def __init__(
        self,
        replies: Iterable[ReplyLike] = (),
        *,
        handler: Handler | None = None,
        default: ReplyLike = "Okay.",
        model: str = "fake-model",
    ) -> None:
        self._replies: list[ReplyLike] = list(replies)
        self._handler = handler
        self._default = default
        self._model = model
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.requests: list[FakeRequest] = []

    # ---- lifecycle ----

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in ``/v1``."""
        return self.origin + "/v1"

    server_name = "fake OpenAI"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    # ---- script ----

    def add(self, *replies: ReplyLike) -> None:
        """Append replies to the script."""
        with self._lock:
            self._replies.extend(replies)

    def _next_reply(self, request: FakeRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._handler is not None:
                chosen = self._handler(request)
            elif self._replies:
                chosen = self._replies.pop(0)
            else:
                chosen = self._default
        return as_reply(chosen)

    # ---- wire ----

    def _completion(self, reply: Reply) -> dict[str, Any]:
        tool_calls = [
            {
                "id": f"call_{next(self._ids)}",
                "type": "function",
                "function": {"name": t.name, "arguments": json.dumps(t.arguments)},
            }
            for t in reply.tool_calls
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self._model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": _usage(),
        }

    def _chunks(self, reply: Reply) -> Iterator[dict[str, Any]]:
        ident = f"chatcmpl-{next(self._ids)}"

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": self._model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        yield chunk({"role": "assistant", "content": ""})
        for piece in text_pieces(reply.text):
            yield chunk({"content": piece})
        for index, tool in enumerate(reply.tool_calls):
            arguments = json.dumps(tool.arguments)
            head = {
                "index": index,
                "id": f"call_{next(self._ids)}",
                "type": "function",
                "function": {"name": tool.name, "arguments": ""},
            }
            yield chunk({"tool_calls": [head]})
            half = len(arguments) // 2
            for part in (arguments[:half], arguments[half:]):
                if part:
                    yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
        yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
        yield {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self._model,
            "choices": [],
            "usage": _usage(),
        }


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def text_pieces(text: str) -> list[str]:
    """Split text into word-sized deltas, keeping the spaces."""
    if not text:
        return []
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


def as_reply(value: ReplyLike) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply(text=value)
    if isinstance(value, ToolCall):
        return Reply(tool_calls=[value])
    return Reply(tool_calls=list(value))


def _make_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": fake._model}]})
            else:
                self._json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(raw or b"{}")
            request = FakeRequest(
                path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body
            )
            try:
                reply = fake._next_reply(request)
            except Exception as exc:  # the test's handler failed: tell the client
                self._json(500, {"error": {"message": f"fake handler failed: {exc!r}"}})
                return
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status >= 400:
                self._json(
                    reply.status,
                    {"error": {"message": reply.error, "type": "fake_error", "code": None}},
                )
                return
            if body.get("stream"):
                self._stream(fake._chunks(reply))
            else:
                self._json(200, fake._completion(reply))

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, chunks: Iterator[dict[str, Any]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for payload in chunks:
                self._chunk(f"data: {json.dumps(payload)}\n\n".encode())
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return _Handler
