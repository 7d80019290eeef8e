"""The tools an assistant gives its agent, as JSON schemas (pure: no I/O).

Only configured tools are offered: ``end_call`` and ``record_unanswered_question``
always; ``transfer_call`` with transfer destinations; ``send_sms`` when SMS is on;
``send_dtmf`` and ``skip_turn`` with IVR navigation; ``check_availability`` and
``book_meeting`` with Calendly; and each custom tool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ToolKind = Literal["builtin", "custom"]

# A custom tool's field type as a JSON schema.
FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "enum": {"type": "string"},
    "date": {"type": "string", "format": "date", "description": "YYYY-MM-DD"},
    "datetime": {"type": "string", "format": "date-time", "description": "ISO 8601"},
}


@dataclass(frozen=True)
class ToolSpec:
    """One tool as the LLM sees it: name, description, JSON-schema ``properties``."""

    name: str
    description: str
    properties: dict[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    kind: ToolKind = "builtin"

    @property
    def parameters(self) -> dict[str, Any]:
        """The full JSON schema of the arguments."""
        return {"type": "object", "properties": self.properties, "required": list(self.required)}


def end_call() -> ToolSpec:
    return ToolSpec(
        "end_call",
        "End the call once the conversation is over (goal reached, the callee wants to "
        "stop, or nothing more can be done). The closing sentence is said for you.",
        {"reason": {"type": "string", "description": "Why the call ends, in a few words."}},
    )


def record_unanswered_question() -> ToolSpec:
    return ToolSpec(
        "record_unanswered_question",
        "Record a question the callee asked that you cannot answer from your instructions "
        "or knowledge, so a human can answer it later. Then tell the callee you will "
        "get back to them.",
        {"question": {"type": "string", "description": "The question, as a short sentence."}},
        ("question",),
    )


def transfer_call(destinations: Sequence[Mapping[str, str]]) -> ToolSpec:
    labels = [d["label"] for d in destinations]
    if len(labels) == 1:
        return ToolSpec(
            "transfer_call",
            f"Transfer the call to a human ({labels[0]}) when the callee asks for one or "
            "you cannot help further.",
            {"reason": {"type": "string", "description": "Why the call is transferred."}},
        )
    return ToolSpec(
        "transfer_call",
        "Transfer the call to a human when the callee asks for one or you cannot help "
        f"further. Choose the destination by label: {', '.join(labels)}.",
        {
            "destination": {"type": "string", "enum": labels, "description": "Who to reach."},
            "reason": {"type": "string", "description": "Why the call is transferred."},
        },
        ("destination",),
    )


def send_sms(template: str | None) -> ToolSpec:
    if template:
        return ToolSpec(
            "send_sms",
            "Send the callee the prepared text message (its content is fixed).",
        )
    return ToolSpec(
        "send_sms",
        "Send the callee a text message, when it helps (a link, an address, a summary).",
        {"message": {"type": "string", "description": "The text message to send."}},
        ("message",),
    )


def send_dtmf() -> ToolSpec:
    return ToolSpec(
        "send_dtmf",
        "Press keys on the phone keypad to navigate an automated menu (IVR).",
        {
            "digits": {
                "type": "string",
                "pattern": "^[0-9*#]+$",
                "description": "Keys to press, e.g. '1' or '123#'.",
            }
        },
        ("digits",),
    )


def skip_turn() -> ToolSpec:
    return ToolSpec(
        "skip_turn",
        "Say nothing this turn: use while an automated menu is still talking or "
        "when you are put on hold.",
    )


def check_availability() -> ToolSpec:
    return ToolSpec(
        "check_availability",
        "List the free meeting slots between two dates.",
        {
            "start_date": {**FIELD_SCHEMAS["date"], "description": "First day, YYYY-MM-DD."},
            "end_date": {**FIELD_SCHEMAS["date"], "description": "Last day, YYYY-MM-DD."},
        },
        ("start_date",),
    )


def book_meeting() -> ToolSpec:
    return ToolSpec(
        "book_meeting",
        "Book a meeting in one of the free slots found with check_availability.",
        {
            "start_time": {**FIELD_SCHEMAS["datetime"], "description": "The slot's start."},
            "name": {"type": "string", "description": "The callee's full name."},
            "email": {"type": "string", "description": "The callee's email address."},
            "timezone": {"type": "string", "description": "IANA time zone, if known."},
        },
        ("start_time", "name", "email"),
    )


def custom(tool: Mapping[str, Any]) -> ToolSpec:
    """A custom HTTP tool: its ``input_schema`` becomes the JSON schema."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for spec in tool["input_schema"]:
        schema = dict(FIELD_SCHEMAS[spec["type"]])
        if spec["type"] == "enum":
            schema["enum"] = list(spec.get("enum_options") or [])
        if spec.get("description"):
            schema["description"] = spec["description"]
        properties[spec["name"]] = schema
        if spec["required"]:
            required.append(spec["name"])
    return ToolSpec(tool["name"], tool["description"], properties, tuple(required), "custom")


def tools_for(assistant: Mapping[str, Any]) -> tuple[ToolSpec, ...]:
    """The tools the assistant's configuration turns on, in a stable order."""
    tools = [end_call()]
    destinations = assistant.get("transfer_destinations") or []
    if destinations:
        tools.append(transfer_call(destinations))
    if assistant.get("sms_enabled"):
        tools.append(send_sms(assistant.get("sms_template")))
    if assistant.get("ivr_navigation_enabled"):
        tools += [send_dtmf(), skip_turn()]
    if assistant.get("calendly"):
        tools += [check_availability(), book_meeting()]
    tools.append(record_unanswered_question())
    tools += [custom(t) for t in assistant.get("custom_tools") or []]
    return tuple(tools)
