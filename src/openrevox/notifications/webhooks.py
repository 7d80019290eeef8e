"""Signed webhook events (docs/notifications.md#webhooks): build, sign, verify, post.

A pure adapter: no database. The job runner builds an event once (``build_event`` +
``encode_event``), stores the bytes, and calls ``post_event`` on every try, so every try
sends the same bytes under the same event id, signed afresh with the try's timestamp.

The signature header is ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``:
the timestamp is signed with the body, so a captured request cannot be replayed later
than the receiver's tolerance.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from openrevox import __version__
from openrevox.notifications.base import DeliveryTry
from openrevox.notifications.variables import latest_attempt

SIGNATURE_HEADER = "X-Openrevox-Signature"
EVENT_ID_HEADER = "X-Openrevox-Event-Id"
USER_AGENT = f"openrevox-webhooks/{__version__}"
SECRET_PREFIX = "whsec_"
# The flat fields of an event, in order, as existing Revox integrations read them.
FLAT_FIELDS = (
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
)
_BODY_EXCERPT_CHARS = 200
_BODY_READ_LIMIT = 4096


def new_webhook_secret() -> str:
    """A fresh signing secret: ``whsec_`` + 32 random bytes, URL-safe base64."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The value of ``SIGNATURE_HEADER`` for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance_secs: int = 300) -> bool:
    """Whether ``header`` signs exactly ``body`` with ``secret``, within ``tolerance_secs``
    of ``now`` (either way). Every ``v1`` in the header is tried; comparisons are
    constant-time. A malformed header is not valid."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                return False
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance_secs:
        return False
    expected = _digest(secret, body, timestamp).encode()
    valid = False
    for candidate in candidates:
        # No early exit: the time taken does not tell which candidate matched.
        valid |= hmac.compare_digest(expected, candidate.encode("ascii", "replace"))
    return valid


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build_event(
    *,
    event_id: str,
    event_type: str,
    created_at: datetime,
    call: dict[str, Any],
    summary: str | None = None,
) -> dict[str, Any]:
    """The event document: ``id``, ``type``, ``created_at``, the flat fields, then ``call``
    (the ``call`` object of ``GET /call/{id}``, unchanged).

    Flat fields: ``call_order_id`` and ``calls_count`` are the call order's;
    ``call_id``, ``status``, ``result``, ``transcript``, ``recording_url``,
    ``started_at`` and ``ended_at`` are its last attempt's (null before the first dial).
    ``summary`` is the after-call analysis' summary: the wire form has no such field, so
    the runner passes it (else ``call["summary"]`` if present, else null).
    """
    attempt = latest_attempt(call)
    flat: dict[str, Any] = {
        "call_order_id": call.get("id"),
        "call_id": attempt.get("id"),
        "status": attempt.get("status"),
        "result": attempt.get("result"),
        "summary": summary if summary is not None else call.get("summary"),
        "transcript": attempt.get("transcript"),
        "recording_url": attempt.get("recording_url"),
        "started_at": attempt.get("started_at"),
        "ended_at": attempt.get("ended_at"),
        "calls_count": call.get("calls_count"),
    }
    return {
        "id": event_id,
        "type": event_type,
        "created_at": _iso(created_at),
        **flat,
        "call": call,
    }


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Compact JSON in the event's own key order: the bytes that are signed and sent."""
    return orjson.dumps(event)


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _connect_error(exc: BaseException) -> str:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or (
            isinstance(current, OSError) and current.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        current = current.__cause__ or current.__context__
    return _one_line(f"connection failed: {exc}" if str(exc) else "connection failed", 300)


async def _excerpt(response: httpx.Response, deadline: float) -> bytes:
    """The start of a failed answer's body, read until ``deadline`` at most; what could
    not be read is left out (the status says enough)."""
    excerpt = b""
    try:
        async with asyncio.timeout_at(deadline):
            async for chunk in response.aiter_bytes():
                excerpt += chunk
                if len(excerpt) >= _BODY_READ_LIMIT:
                    break
    except (TimeoutError, httpx.HTTPError, OSError):
        pass
    finally:
        await response.aclose()
    return excerpt


async def post_event(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    event_id: str,
    secret: str,
    timeout: float,  # noqa: ASYNC109 (the per-try limit, recorded in the error)
) -> DeliveryTry:
    """POST one signed event; never raises for a failed delivery.

    2xx is delivered. Anything else (a timeout, a refused or broken connection, any
    non-2xx answer, redirects included: they are not followed) is a retryable failure
    with a short ``error``. Only a URL that can never work is not retryable.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: event_id,
        SIGNATURE_HEADER: sign(secret, body, int(time.time())),
    }
    details: dict[str, Any] = {"event_id": event_id}
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    deadline = asyncio.get_running_loop().time() + timeout
    try:
        # httpx's timeout bounds each phase; the outer one bounds the whole try.
        async with asyncio.timeout_at(deadline):
            request = http.build_request(
                "POST", url, content=body, headers=headers, timeout=httpx.Timeout(timeout)
            )
            response = await http.send(request, stream=True, follow_redirects=False)
    except (TimeoutError, httpx.TimeoutException):
        return DeliveryTry(
            ok=False,
            latency_ms=elapsed(),
            error=f"timed out after {_seconds(timeout)}",
            details=details,
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        return DeliveryTry(
            ok=False,
            latency_ms=elapsed(),
            error=_one_line(f"invalid webhook URL: {exc}", 300),
            retryable=False,
            details=details,
        )
    except httpx.ConnectError as exc:
        return DeliveryTry(
            ok=False, latency_ms=elapsed(), error=_connect_error(exc), details=details
        )
    except (httpx.HTTPError, OSError) as exc:
        name = type(exc).__name__
        return DeliveryTry(
            ok=False,
            latency_ms=elapsed(),
            error=_one_line(f"{name}: {exc}" if str(exc) else name, 300),
            details=details,
        )

    latency = elapsed()  # to the answer's status line and headers
    status = response.status_code
    if response.is_success:
        await response.aclose()  # the answer is given; its body does not matter
        return DeliveryTry(ok=True, latency_ms=latency, status_code=status, details=details)
    excerpt = await _excerpt(response, deadline)
    error = f"HTTP {status}"
    if response.is_redirect:
        location = response.headers.get("location", "")
        details["location"] = location
        error += f": redirect to {_one_line(location, 300) or '(no Location)'} not followed"
    else:
        text = _one_line(excerpt.decode("utf-8", "replace"), _BODY_EXCERPT_CHARS)
        if text:
            error += f": {text}"
    return DeliveryTry(
        ok=False, latency_ms=latency, status_code=status, error=error, details=details
    )
