"""``end_call``: say the end-of-call sentence, then hang up (end_reason tool_end_call)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openrevox.runtime.tools.base import ToolContext, ToolResult


async def end_call(args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
    async def hang_up() -> None:
        await ctx.finish("agent", "tool_end_call", farewell=ctx.config.end_of_call_sentence)

    return ToolResult({"status": "ending the call"}, run_llm=False, then=hang_up)
