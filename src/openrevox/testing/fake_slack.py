"""A local fake of Slack's Web API ``chat.postMessage``, for tests.

Real HTTP on loopback (a threaded server). It checks the bot token (``Authorization:
Bearer ...``) and the channel like Slack does, answering HTTP 200 with ``{"ok": true,
"channel", "ts", "message"}`` or ``{"ok": false, "error": ...}``, and records every
request and every message posted::

    with FakeSlack(token="xoxb-test", channels=["C0123"]) as slack:
        settings = Settings(slack_api_base_url=slack.base_url,
                            slack_connections={"conn": "xoxb-test"})
        ...
        assert slack.messages[0].text.startswith("*Ava*")

Errors it finds itself: ``not_authed`` (no token), ``invalid_auth`` (another token),
``channel_not_found`` (a channel not in ``channels``), ``not_in_channel`` (in
``channels`` but not in ``member_of``), ``no_text``. Scripted ones:
``fail_next(SlackFailure("ratelimited", status=429, retry_after=3))`` fails the next
requests in order; ``on_channel("C0123", SlackFailure(...))`` fails every message to one
channel.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from openrevox.testing.loopback import LoopbackServer

__all__ = ["FakeSlack", "PostedMessage", "SlackFailure", "SlackRequest"]


@dataclass(frozen=True)
class SlackFailure:
    """An answer instead of success: ``{"ok": false, "error": error}`` with ``status``
    (Slack's errors come with 200; 429 for rate limiting, with ``Retry-After``), or
    ``raw`` as the body (an HTML 503 page, say)."""

    error: str = "internal_error"
    status: int = 200
    retry_after: float | None = None
    raw: str | None = None


@dataclass(frozen=True)
class SlackRequest:
    """One request received: its path, headers (lower-case names) and arguments."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(frozen=True)
class PostedMessage:
    """A message Slack accepted."""

    channel: str
    text: str
    ts: str
    body: dict[str, Any] = field(default_factory=dict)


class FakeSlack(LoopbackServer):
    """``POST {base_url}/chat.postMessage`` on ``127.0.0.1``; a (sync) context manager."""

    def __init__(
        self,
        token: str = "xoxb-fake-token",
        channels: Iterable[str] = ("C0000000001",),
        *,
        member_of: Iterable[str] | None = None,
    ) -> None:
        self.token = token
        self.channels = set(channels)
        self.member_of = set(self.channels if member_of is None else member_of)
        self.requests: list[SlackRequest] = []
        self.messages: list[PostedMessage] = []
        self.failures: list[SlackFailure] = []
        self.channel_failures: dict[str, SlackFailure] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)

    # ---- script ----

    def fail_next(self, *failures: SlackFailure) -> None:
        """The next requests get these answers, in order."""
        with self._lock:
            self.failures.extend(failures)

    def on_channel(self, channel: str, failure: SlackFailure) -> None:
        """Every message to ``channel`` gets ``failure``."""
        with self._lock:
            self.channel_failures[channel] = failure

    # ---- lifecycle ----

    @property
    def base_url(self) -> str:
        """Slack's Web API base URL (``.../api``), for ``slack_api_base_url``."""
        return self.origin + "/api"

    server_name = "fake Slack"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    # ---- answering ----

    def _answer(self, request: SlackRequest) -> tuple[SlackFailure | None, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            if self.failures:
                return self.failures.pop(0), {}
            channel = str(request.body.get("channel") or "")
            text = str(request.body.get("text") or "")
            if request.token is None:
                return SlackFailure("not_authed"), {}
            if request.token != self.token:
                return SlackFailure("invalid_auth"), {}
            if channel in self.channel_failures:
                return self.channel_failures[channel], {}
            if channel not in self.channels:
                return SlackFailure("channel_not_found"), {}
            if channel not in self.member_of:
                return SlackFailure("not_in_channel"), {}
            if not text.strip() and not request.body.get("blocks"):
                return SlackFailure("no_text"), {}
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            self.messages.append(PostedMessage(channel, text, ts, dict(request.body)))
            return None, {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"type": "message", "text": text, "ts": ts, "bot_id": "B0FAKE"},
            }


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not self.path.rstrip("/").endswith("/chat.postMessage"):
                self._send(404, {"ok": False, "error": "unknown_method"})
                return
            if headers.get("content-type", "").startswith("application/json"):
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(200, {"ok": False, "error": "invalid_json"})
                    return
            else:
                body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            failure, answer = fake._answer(SlackRequest(self.path, headers, body))
            if failure is None:
                self._send(200, answer)
                return
            extra = {}
            if failure.retry_after is not None:
                extra["Retry-After"] = f"{failure.retry_after:g}"
            if failure.raw is not None:
                self._send(failure.status, failure.raw, extra, content_type="text/html")
            else:
                self._send(failure.status, {"ok": False, "error": failure.error}, extra)

        def _send(
            self,
            status: int,
            payload: dict[str, Any] | str,
            headers: dict[str, str] | None = None,
            *,
            content_type: str = "application/json; charset=utf-8",
        ) -> None:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return _Handler
