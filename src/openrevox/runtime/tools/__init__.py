"""The agent's tools, one module each; ``handlers_for`` wires the configured ones."""

from __future__ import annotations

from openrevox.runtime.call_config import CallConfig
from openrevox.runtime.tools.base import ToolHandler
from openrevox.runtime.tools.calendly import book_meeting, check_availability
from openrevox.runtime.tools.custom_http import custom_http_tool
from openrevox.runtime.tools.dtmf import send_dtmf, skip_turn
from openrevox.runtime.tools.end_call import end_call
from openrevox.runtime.tools.send_sms import send_sms
from openrevox.runtime.tools.transfer_call import transfer_call
from openrevox.runtime.tools.unanswered_question import record_unanswered_question

BUILTIN_HANDLERS: dict[str, ToolHandler] = {
    "end_call": end_call,
    "transfer_call": transfer_call,
    "send_sms": send_sms,
    "send_dtmf": send_dtmf,
    "skip_turn": skip_turn,
    "check_availability": check_availability,
    "book_meeting": book_meeting,
    "record_unanswered_question": record_unanswered_question,
}


def handlers_for(config: CallConfig) -> dict[str, ToolHandler]:
    """A handler for every tool the call offers the LLM."""
    handlers: dict[str, ToolHandler] = {}
    for spec in config.tools:
        if spec.kind == "custom":
            handlers[spec.name] = custom_http_tool(config.custom_tools[spec.name])
        else:
            handlers[spec.name] = BUILTIN_HANDLERS[spec.name]
    return handlers
