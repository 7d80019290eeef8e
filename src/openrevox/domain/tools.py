"""Names of the built-in agent tools; custom tools may not take them."""

from __future__ import annotations

import re

BUILTIN_TOOL_NAMES = frozenset(
    {
        "end_call",
        "transfer_call",
        "send_sms",
        "send_dtmf",
        "skip_turn",
        "check_availability",
        "book_meeting",
        "record_unanswered_question",
    }
)
TOOL_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
MAX_TOOL_NAME_LENGTH = 64
