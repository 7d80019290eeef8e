"""``send_sms``: the template verbatim (variables filled), else the LLM's message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openrevox.providers.sms.base import SmsError
from openrevox.runtime.tools.base import ToolContext, ToolResult, error


async def send_sms(args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
    body = ctx.config.sms_template or str(args.get("message") or "").strip()
    if not body:
        return error("message is required")
    if not ctx.callee_number:
        return error("the callee's phone number is unknown; no message sent")
    try:
        sent = await ctx.sms.send(to=ctx.callee_number, body=body, from_number=ctx.from_number)
    except SmsError as exc:
        return error(f"the message was not sent: {exc.message}")
    ctx.record_sms(sent)
    return ToolResult({"status": "sent", "to": sent.to, "message": body})
