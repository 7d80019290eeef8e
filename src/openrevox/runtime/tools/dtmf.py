"""IVR navigation: ``send_dtmf`` presses keys through the transport; ``skip_turn`` waits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from openrevox.runtime.tools.base import ToolContext, ToolResult, error

DIGITS = re.compile(r"^[0-9*#]{1,32}$")


async def send_dtmf(args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
    digits = str(args.get("digits") or "").replace(" ", "")
    if not DIGITS.match(digits):
        return error(f"digits {digits!r} must be 1 to 32 of 0-9, * and #")
    await ctx.send_dtmf(digits)
    return ToolResult({"pressed": digits}, run_llm=False)


async def skip_turn(args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult({"skipped": True}, run_llm=False)
