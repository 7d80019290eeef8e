"""The analysis prompt: the transcript as text, the instructions, the JSON shape asked for."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from openrevox.domain.templating import render_partial, variables_in
from openrevox.postcall.structured import CONTACT_FIELDS, OUTCOMES, OutputField, Problem

SPEAKERS = {"user": "Callee", "assistant": "Agent", "human_agent": "Human agent"}

DEFAULT_EXTRACTION = (
    "Extract the structured output fields below from the conversation. Use only what the "
    "callee or the agent actually said (or the call's input data); never guess or invent a "
    "value. When the call did not give a field, set it to null."
)

SYSTEM = """You analyse the transcript of a phone call between an AI agent and a callee \
and answer with one JSON object, nothing else.

Rules:
- Base every value on the transcript and the call's input data only. Never invent \
anything: a value the call did not give is null.
- "summary": a short factual summary of the call (2 to 4 sentences), in the language \
of the conversation.
- "outcome": the business outcome of the call, one of:
  - "completed": the purpose of the call was fully achieved (e.g. the meeting booked, \
the survey answered, the information delivered and confirmed);
  - "interested": the callee showed interest but the purpose is not fully achieved yet;
  - "not_interested": the callee declined, refused or asked not to be called;
  - "requested_callback_later": the callee asked to be called back at another time;
  - null: none of these can be told (no real conversation, voicemail, wrong person, \
cut off too early).
- "outcome_summary": one sentence explaining the outcome (null when the outcome is null).
- "contact": who the callee is, as far as the call and its input data say: \
first_name, last_name, email, company, job_title; each a string or null."""

STRUCTURED_RULES = """- "structured_output": an object with exactly the fields listed \
below. Required fields are always present, null when the call did not give them; \
optional fields may be null. Types: string = JSON string; number = JSON number (not a \
string); boolean = true/false; enum = exactly one of the listed options; date = \
"YYYY-MM-DD"; datetime = ISO 8601 "YYYY-MM-DDTHH:MM:SS" with the UTC offset when known. \
Resolve relative dates ("next Tuesday") from the call's date."""


def render_transcript(transcript: Sequence[Mapping[str, Any]]) -> str:
    """One line per item: ``Agent: ...``, ``Callee: ...``, ``[tool name(args) -> output]``."""
    lines: list[str] = []
    for item in transcript:
        role = str(item.get("role") or "")
        if role == "tool":
            arguments = item.get("tool_arguments")
            args = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
            output = item.get("tool_output") or item.get("content") or ""
            error = " (error)" if item.get("tool_is_error") else ""
            lines.append(f"[tool {item.get('tool_name') or '?'}({args}) -> {output}{error}]")
            continue
        content = str(item.get("content") or "").strip()
        if content:
            lines.append(f"{SPEAKERS.get(role, role or 'Unknown')}: {content}")
    return "\n".join(lines)


def has_conversation(transcript: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the callee said anything at all."""
    return any(
        item.get("role") == "user" and str(item.get("content") or "").strip() for item in transcript
    )


def shape(fields: Sequence[OutputField]) -> str:
    """The JSON object asked for, with each structured field's type and description."""
    lines = [
        "{",
        '  "summary": string,',
        f'  "outcome": {" | ".join(json.dumps(o) for o in OUTCOMES)} | null,',
        '  "outcome_summary": string | null,',
        '  "contact": {'
        + ", ".join(f'"{n}": string | null' for n in CONTACT_FIELDS)
        + "}"
        + ("," if fields else ""),
    ]
    if fields:
        lines.append('  "structured_output": {')
        for index, spec in enumerate(fields):
            kind = (
                " | ".join(json.dumps(o) for o in spec.enum_options)
                if spec.type == "enum"
                else spec.type
            )
            need = "required" if spec.required else "optional"
            about = f" -- {spec.description}" if spec.description else ""
            comma = "," if index < len(fields) - 1 else ""
            lines.append(f"    {json.dumps(spec.name)}: {kind} | null{comma}  // {need}{about}")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def build_messages(
    config: Mapping[str, Any],
    fields: Sequence[OutputField],
    *,
    transcript: str,
    call_direction: str,
    user_phone_number: str,
    agent_phone_number: str | None,
    prompt_variables: Mapping[str, str],
    call_date: datetime,
) -> list[dict[str, str]]:
    """The system and user messages of the analysis request."""
    system = SYSTEM
    if fields:
        system += "\n" + STRUCTURED_RULES
    system += "\n\nAnswer with this JSON object:\n" + shape(fields)

    builtins = {
        "transcript": transcript,
        "call_direction": call_direction,
        "user_phone_number": user_phone_number,
        "agent_phone_number": agent_phone_number or "unknown",
    }
    custom = config.get("structured_output_prompt")
    parts: list[str] = []
    if fields:
        instruction = (
            render_partial(str(custom), {**prompt_variables, **builtins})
            if custom and str(custom).strip()
            else DEFAULT_EXTRACTION
        )
        parts.append("## Structured output instructions\n" + instruction)
    parts.append(
        "## Call\n"
        f"Direction: {call_direction}\n"
        f"Callee's phone number: {user_phone_number}\n"
        f"Agent's phone number: {builtins['agent_phone_number']}\n"
        f"Date of the call: {call_date.date().isoformat()} ({call_date:%A}), "
        f"around {call_date:%H:%M} {call_date.tzname() or 'UTC'}"
    )
    if prompt_variables:
        parts.append(
            "## Input data of the call\n"
            + "\n".join(f"{k}: {v}" for k, v in sorted(prompt_variables.items()))
        )
    if not (fields and custom and "transcript" in variables_in(str(custom))):
        parts.append("## Transcript\n" + transcript)
    parts.append("Answer with the JSON object only.")
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def repair_message(problems: Sequence[Problem]) -> dict[str, str]:
    """Ask the model to correct its previous answer."""
    listed = "\n".join(f"- {p}" for p in problems)
    return {
        "role": "user",
        "content": "Your JSON answer does not fit the schema:\n"
        f"{listed}\n"
        "Reply with the complete corrected JSON object only. Use null for a value the call "
        "did not give; never invent one.",
    }
