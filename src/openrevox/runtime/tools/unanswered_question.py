"""``record_unanswered_question``: keep the question as a FAQ item awaiting a human."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openrevox.runtime.tools.base import ToolContext, ToolResult, error


async def record_unanswered_question(args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
    question = str(args.get("question") or "").strip()
    if not question:
        return error("question is required")
    ctx.add_faq_candidate(question)
    return ToolResult(
        {"recorded": True, "next": "Tell the callee someone will get back to them with the answer."}
    )
