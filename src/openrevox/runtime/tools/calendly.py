"""Calendly: ``check_availability`` and ``book_meeting`` against the Calendly API v2.

The base URL is a setting (``OPENREVOX_CALENDLY_BASE_URL``) so tests use a local fake;
the access token comes from ``OPENREVOX_CALENDLY_TOKENS`` by the assistant's
``connection_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from openrevox.runtime.tools.base import ToolContext, ToolResult, error

MAX_SLOTS = 20
MAX_RANGE_DAYS = 7  # Calendly answers at most one week per request


async def check_availability(args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
    try:
        start = date.fromisoformat(str(args.get("start_date")))
        end = date.fromisoformat(str(args["end_date"])) if args.get("end_date") else start
    except ValueError:
        return error("dates must be YYYY-MM-DD")
    end = min(max(end, start), start + timedelta(days=MAX_RANGE_DAYS - 1))
    now = datetime.now(UTC) + timedelta(minutes=1)
    start_time = max(datetime.combine(start, datetime.min.time(), UTC), now)
    end_time = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    if end_time <= start_time:
        return error("that range is in the past")
    answer = await _call(
        ctx,
        "GET",
        "/event_type_available_times",
        params={
            "event_type": _event_type_uri(ctx),
            "start_time": _iso(start_time),
            "end_time": _iso(end_time),
        },
    )
    if isinstance(answer, ToolResult):
        return answer
    slots = [
        s["start_time"]
        for s in answer.get("collection", [])
        if s.get("status", "available") == "available"
    ]
    return ToolResult({"available_slots": slots[:MAX_SLOTS], "more": len(slots) > MAX_SLOTS})


async def book_meeting(args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
    missing = [k for k in ("start_time", "name", "email") if not args.get(k)]
    if missing:
        return error(f"missing {', '.join(missing)}")
    invitee: dict[str, Any] = {"name": args["name"], "email": args["email"]}
    if args.get("timezone"):
        invitee["timezone"] = args["timezone"]
    answer = await _call(
        ctx,
        "POST",
        "/invitees",
        json={
            "event_type": _event_type_uri(ctx),
            "start_time": args["start_time"],
            "invitee": invitee,
        },
    )
    if isinstance(answer, ToolResult):
        return answer
    resource = answer.get("resource", answer)
    return ToolResult(
        {"status": "booked", "start_time": args["start_time"], "event": resource.get("uri")}
    )


async def _call(ctx: ToolContext, method: str, path: str, **kwargs: Any) -> Any:
    calendly = ctx.config.calendly or {}
    connection = calendly.get("connection_id", "")
    token = ctx.settings.calendly_tokens.get(connection)
    if token is None:
        return error(f"Calendly connection {connection!r} has no token on this server")
    base = ctx.settings.calendly_base_url.rstrip("/")
    try:
        response = await ctx.http.request(
            method,
            base + path,
            headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            timeout=ctx.settings.custom_tool_timeout_secs,
            **kwargs,
        )
    except httpx.TimeoutException:
        return error("Calendly did not answer in time")
    except httpx.HTTPError as exc:
        return error(f"could not reach Calendly: {type(exc).__name__}")
    if not response.is_success:
        return error(f"Calendly answered HTTP {response.status_code}", body=response.text[:500])
    try:
        return response.json()
    except ValueError:
        return error("Calendly answered something other than JSON")


def _event_type_uri(ctx: ToolContext) -> str:
    event_type = (ctx.config.calendly or {}).get("event_type_id", "")
    if event_type.startswith(("http://", "https://")):
        return event_type
    return f"{ctx.settings.calendly_base_url.rstrip('/')}/event_types/{event_type}"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
