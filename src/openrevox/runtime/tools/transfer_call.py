"""``transfer_call``: pick the destination, brief (warm) and hand over to telephony."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openrevox.runtime.result import TransferRequest
from openrevox.runtime.tools.base import ToolContext, ToolResult, error

DEFAULT_SUMMARY = (
    "Write a short briefing for the human taking over this call: who the callee is, "
    "what they want, and what has been said or agreed so far."
)


async def transfer_call(args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
    plan = ctx.config.transfer
    if plan is None:
        return error("no transfer destination is configured")
    wanted = args.get("destination")
    if len(plan.destinations) == 1 and not wanted:
        destination = plan.destinations[0]
    else:
        found = [d for d in plan.destinations if d.label == wanted]
        if not found:
            labels = [d.label for d in plan.destinations]
            return error(f"unknown destination {wanted!r}", choose_from=labels)
        destination = found[0]
    summary = None
    if plan.mode == "warm":
        summary = await ctx.summarize(plan.summary_instructions or DEFAULT_SUMMARY)
    request = TransferRequest(
        label=destination.label,
        phone_number=destination.phone_number,
        mode=plan.mode,
        reason=str(args["reason"]) if args.get("reason") else None,
        summary=summary,
    )

    async def hand_over() -> None:
        await ctx.transfer(request)

    return ToolResult(
        {"status": "transferring", "destination": destination.label, "mode": plan.mode},
        run_llm=False,
        then=hand_over,
    )
