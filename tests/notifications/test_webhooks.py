"""Webhook events: signature scheme, event shape, and posting to a real local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from revox.types.call_retrieve_response import Call as SdkCall

from openrevox import __version__
from openrevox.notifications.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    build_event,
    encode_event,
    new_webhook_secret,
    post_event,
    sign,
    verify,
)
from openrevox.services.call_wire import CallView, to_wire
from openrevox.storage.models import Call, CallAttempt

SECRET = "whsec_test-secret"
NOW = 1_790_000_000
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


# -- the signature ------------------------------------------------------------------


def test_new_secret_is_prefixed_random_and_long() -> None:
    secrets = {new_webhook_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(secret) >= len("whsec_") + 43  # 32 bytes, URL-safe base64


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"id":"evt_1"}'
    expected = hmac.new(SECRET.encode(), b"1790000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body, NOW) == f"t=1790000000,v1={expected}"


def test_verify_round_trip() -> None:
    body = encode_event({"id": "evt_1", "type": "call.completed"})
    header = sign(SECRET, body, NOW)
    assert verify(SECRET, header, body, now=NOW)
    assert verify(SECRET, header, body, now=NOW + 300)
    assert verify(SECRET, header, body, now=NOW - 300)
    # A receiver that splits on ", " or gets extra parts still verifies.
    assert verify(SECRET, header.replace(",", ", "), body, now=NOW)
    assert verify(SECRET, f"{header},v0=legacy", body, now=NOW)


def test_verify_accepts_any_of_several_signatures() -> None:
    """While a secret is rotated, a sender may sign with both; either one verifies."""
    body = b"{}"
    old = sign("whsec_old", body, NOW).split(",")[1]
    header = f"{sign(SECRET, body, NOW)},{old}"
    assert verify(SECRET, header, body, now=NOW)
    assert verify("whsec_old", header, body, now=NOW)
    assert not verify("whsec_other", header, body, now=NOW)


@pytest.mark.parametrize(
    ("secret", "header_at", "body", "now", "tolerance"),
    [
        pytest.param("whsec_wrong", NOW, b'{"a":1}', NOW, 300, id="wrong-secret"),
        pytest.param(SECRET, NOW, b'{"a":2}', NOW, 300, id="tampered-body"),
        pytest.param(SECRET, NOW, b'{"a":1} ', NOW, 300, id="whitespace-added"),
        pytest.param(SECRET, NOW, b'{"a":1}', NOW + 301, 300, id="stale"),
        pytest.param(SECRET, NOW, b'{"a":1}', NOW - 301, 300, id="from-the-future"),
        pytest.param(SECRET, NOW, b'{"a":1}', NOW + 11, 10, id="stale-short-tolerance"),
    ],
)
def test_verify_rejects(secret: str, header_at: int, body: bytes, now: int, tolerance: int) -> None:
    header = sign(SECRET, b'{"a":1}', header_at)
    assert not verify(secret, header, body, now=now, tolerance_secs=tolerance)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "v1=abc",
        "t=1790000000",
        "t=abc,v1=00",
        "t=-5,v1=00",
        "t=1790000000,t=1790000000,v1=00",
        "t=1790000000,v1=",
        "t=1790000000,v1=ü",
    ],
)
def test_verify_rejects_malformed_headers(header: str) -> None:
    assert not verify(SECRET, header, b"{}", now=NOW)


def test_verify_rejects_a_signature_moved_to_another_timestamp() -> None:
    """The timestamp is signed: replaying a captured v1 under a fresh t fails."""
    body = b"{}"
    captured = sign(SECRET, body, NOW - 3600).split(",")[1]
    assert not verify(SECRET, f"t={NOW},{captured}", body, now=NOW)


# -- the event ----------------------------------------------------------------------


def realistic_call(*, attempts: int = 2) -> dict[str, Any]:
    """A call as ``GET /call/{id}`` returns it, built by the server's own wire code."""
    call = Call(
        id="c0ffee00-0000-4000-8000-000000000001",
        organization_id="org-1",
        assistant_id="asst-1",
        assistant_snapshot={
            "id": "asst-1",
            "organization_id": "org-1",
            "type": "standalone",
            "name": "Sales agent",
            "prompt": "Sell the product.",
            "created_at": "2026-11-01T08:00:00Z",
            "updated_at": "2026-11-01T08:00:00Z",
        },
        prompt_variables={"first_name": "Ada"},
        metadata_={"crm_id": "42"},
        to_phone_number="+33612345678",
        from_phone_number="+33187654321",
        direction="outbound",
        status="completed",
        scheduled_at=T0,
        campaign_id=None,
        assignee_id=None,
        result="human",
        outcome="interested",
        outcome_summary="Asked for a quote.",
        contact={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        follow_up_emails=None,
        slack_channel_ids=None,
        calls_count=attempts,
        created_at=T0,
        updated_at=T0,
    )
    rows = []
    for number in range(attempts, 0, -1):  # most recent first
        last = number == attempts
        started = T0.replace(hour=9 + number)
        rows.append(
            CallAttempt(
                id=f"att-{number}",
                call_id=call.id,
                attempt_number=number,
                status="completed",
                result="human" if last else "voicemail",
                dial_error=None,
                ended_by="user" if last else "agent",
                end_reason=None if last else "voicemail",
                phone_number="+33612345678",
                from_phone_number="+33187654321",
                started_at=started,
                answered_at=started.replace(second=5),
                ended_at=started.replace(minute=3),
                recording_url=f"https://rec.example.com/att-{number}.wav" if last else None,
                transcript=[
                    {"role": "assistant", "content": "Hello, Ada?"},
                    {"role": "user", "content": "Yes, send me a quote."},
                ]
                if last
                else None,
                post_call_transcript=None,
                speech_events=None,
                email_log=None,
                sms_log=None,
                structured_output={"budget": 1200, "wants_demo": True} if last else None,
                assistants_used=None,
                handled_by_ai=True,
                handled_by_human=False,
                handled_by_user_id=None,
            )
        )
    return to_wire(CallView(call=call, attempts=rows))


def test_event_shape_and_flat_fields() -> None:
    call = realistic_call()
    SdkCall.model_validate(call)  # the call is the SDK's own shape
    event = build_event(
        event_id="evt_123",
        event_type="call.completed",
        created_at=T0,
        call=call,
        summary="Ada wants a quote for 1200 EUR.",
    )
    assert list(event) == [
        "id",
        "type",
        "created_at",
        "call_order_id",
        "call_id",
        "status",
        "result",
        "summary",
        "transcript",
        "recording_url",
        "started_at",
        "ended_at",
        "calls_count",
        "call",
    ]
    assert event["id"] == "evt_123"
    assert event["type"] == "call.completed"
    assert event["created_at"] == "2026-11-24T09:00:00Z"
    assert event["call_order_id"] == call["id"]
    assert event["call_id"] == "att-2"  # the last attempt
    assert event["status"] == "completed"
    assert event["result"] == "human"
    assert event["summary"] == "Ada wants a quote for 1200 EUR."
    assert event["transcript"] == call["last_call_attempt"]["transcript"]
    assert event["transcript"][1]["content"] == "Yes, send me a quote."
    assert event["recording_url"] == "https://rec.example.com/att-2.wav"
    assert event["started_at"] == "2026-11-24T11:00:00Z"
    assert event["ended_at"] == "2026-11-24T11:03:00Z"
    assert event["calls_count"] == 2
    assert event["call"] == call


def test_event_of_a_call_not_dialled_has_null_attempt_fields() -> None:
    call = realistic_call(attempts=0)
    SdkCall.model_validate(call)
    event = build_event(event_id="evt_0", event_type="call.cancelled", created_at=T0, call=call)
    assert event["call_order_id"] == call["id"]
    assert event["calls_count"] == 0
    for name in ("call_id", "status", "result", "summary", "transcript", "recording_url"):
        assert event[name] is None, name
    assert event["started_at"] is None
    assert event["ended_at"] is None


def test_event_created_at_is_utc_iso() -> None:
    naive = datetime(2026, 11, 24, 9, 30)  # taken as UTC
    event = build_event(event_id="e", event_type="t", created_at=naive, call=realistic_call())
    assert event["created_at"] == "2026-11-24T09:30:00Z"


def test_encoding_is_compact_and_deterministic() -> None:
    call = realistic_call()
    one = encode_event(build_event(event_id="e", event_type="t", created_at=T0, call=call))
    two = encode_event(build_event(event_id="e", event_type="t", created_at=T0, call=call))
    assert one == two
    # Compact: no space after separators (the only ones are inside string values).
    assert one == json.dumps(json.loads(one), separators=(",", ":"), ensure_ascii=False).encode()
    decoded = json.loads(one)
    assert list(decoded)[:3] == ["id", "type", "created_at"]
    assert list(decoded)[-1] == "call"
    SdkCall.model_validate(decoded["call"])


# -- posting to a real receiver -----------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # Each request takes the next answer: (status, body, headers, delay, body delay).
    answers: deque[tuple[int, bytes, dict[str, str], float, float]] = field(default_factory=deque)

    def answer(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        body_delay: float = 0.0,
    ) -> None:
        """Answer after ``delay``; send the body ``body_delay`` after the headers."""
        self.answers.append((status, body, headers or {}, delay, body_delay))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.received.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            status, answer, headers, delay, body_delay = (
                state.answers.popleft() if state.answers else (200, b"ok", {}, 0.0, 0.0)
            )
            time.sleep(delay)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.flush()
                time.sleep(body_delay)
                self.wfile.write(answer)
            except OSError:  # the client gave up (timeout)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/revox"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def event_body() -> bytes:
    return encode_event(
        build_event(
            event_id="evt_abc", event_type="call.completed", created_at=T0, call=realistic_call()
        )
    )


async def test_post_retries_after_500_then_succeeds(receiver: Receiver) -> None:
    receiver.answer(500, b"database is down\n" + b"x" * 400)
    receiver.answer(200, b"thanks")
    body = event_body()
    async with httpx.AsyncClient(trust_env=False) as http:
        first = await post_event(
            http, receiver.url, body, event_id="evt_abc", secret=SECRET, timeout=5
        )
        second = await post_event(
            http, receiver.url, body, event_id="evt_abc", secret=SECRET, timeout=5
        )

    assert not first.ok
    assert first.retryable
    assert first.status_code == 500
    assert first.error is not None
    assert first.error.startswith("HTTP 500: database is down x")
    assert len(first.error) == len("HTTP 500: ") + 200
    assert first.latency_ms > 0

    assert second.ok
    assert second.status_code == 200
    assert second.error is None
    assert second.latency_ms > 0

    assert len(receiver.received) == 2
    for got in receiver.received:
        assert got.path == "/hooks/revox"
        assert got.body == body  # the exact bytes that were built
        assert got.headers["content-type"] == "application/json"
        assert got.headers["user-agent"] == f"openrevox-webhooks/{__version__}"
        assert got.headers[EVENT_ID_HEADER.lower()] == "evt_abc"
        signature = got.headers[SIGNATURE_HEADER.lower()]
        assert verify(SECRET, signature, got.body, now=int(time.time()))
        assert not verify("whsec_other", signature, got.body, now=int(time.time()))
        assert json.loads(got.body)["id"] == "evt_abc"


async def test_every_non_2xx_is_retryable(receiver: Receiver) -> None:
    for status in (400, 401, 404, 408, 410, 429, 503):
        receiver.answer(status, b"nope")
    async with httpx.AsyncClient(trust_env=False) as http:
        for status in (400, 401, 404, 408, 410, 429, 503):
            result = await post_event(
                http, receiver.url, b"{}", event_id="e", secret=SECRET, timeout=5
            )
            assert (result.ok, result.status_code, result.retryable) == (False, status, True)
            assert result.error == f"HTTP {status}: nope"


async def test_2xx_other_than_200_is_delivered(receiver: Receiver) -> None:
    receiver.answer(204)
    async with httpx.AsyncClient(trust_env=False) as http:
        result = await post_event(http, receiver.url, b"{}", event_id="e", secret=SECRET, timeout=5)
    assert result.ok and result.status_code == 204


async def test_timeout_is_a_retryable_failure(receiver: Receiver) -> None:
    receiver.answer(200, b"too late", delay=2.0)
    async with httpx.AsyncClient(trust_env=False) as http:
        result = await post_event(
            http, receiver.url, b"{}", event_id="e", secret=SECRET, timeout=0.5
        )
    assert not result.ok
    assert result.retryable
    assert result.status_code is None
    assert result.error == "timed out after 0.5 s"
    assert 450 <= result.latency_ms < 1900
    assert len(receiver.received) == 1  # it did arrive; the answer came too late


async def test_a_2xx_is_delivered_even_if_its_body_is_slow(receiver: Receiver) -> None:
    receiver.answer(200, b"ok", body_delay=2.0)
    async with httpx.AsyncClient(trust_env=False) as http:
        result = await post_event(
            http, receiver.url, b"{}", event_id="e", secret=SECRET, timeout=0.5
        )
    assert result.ok and result.status_code == 200
    assert result.latency_ms < 450


async def test_a_failure_whose_body_is_slow_still_reports_its_status(receiver: Receiver) -> None:
    receiver.answer(503, b"late body", body_delay=2.0)
    async with httpx.AsyncClient(trust_env=False) as http:
        started = time.perf_counter()
        result = await post_event(
            http, receiver.url, b"{}", event_id="e", secret=SECRET, timeout=0.5
        )
        took = time.perf_counter() - started
    assert (result.ok, result.status_code, result.retryable) == (False, 503, True)
    assert result.error == "HTTP 503"
    assert took < 1.5  # bounded by the try's timeout, not the slow body


async def test_connection_refused_is_a_retryable_failure() -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"
    async with httpx.AsyncClient(trust_env=False) as http:
        result = await post_event(http, url, b"{}", event_id="e", secret=SECRET, timeout=5)
    assert not result.ok
    assert result.retryable
    assert result.status_code is None
    assert result.error == "connection refused"
    assert result.latency_ms >= 0


async def test_redirect_is_not_followed(receiver: Receiver) -> None:
    target = receiver.url.replace("/hooks/revox", "/elsewhere")
    receiver.answer(302, b"moved", {"Location": target})
    async with httpx.AsyncClient(trust_env=False, follow_redirects=True) as http:
        result = await post_event(http, receiver.url, b"{}", event_id="e", secret=SECRET, timeout=5)
    assert not result.ok
    assert result.retryable
    assert result.status_code == 302
    assert result.error is not None
    assert result.error.startswith("HTTP 302")
    assert target in result.error
    assert result.details["location"] == target
    assert [r.path for r in receiver.received] == ["/hooks/revox"]  # /elsewhere never hit


async def test_a_url_that_cannot_work_is_not_retryable() -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        result = await post_event(
            http, "ftp://example.com/hook", b"{}", event_id="e", secret=SECRET, timeout=5
        )
    assert not result.ok
    assert not result.retryable
    assert result.error is not None and "invalid webhook URL" in result.error
