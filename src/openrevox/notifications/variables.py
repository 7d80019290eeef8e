"""The template variables of after-call messages (Slack, Zoho notes, SMS) and their filling.

``call_variables`` turns the wire form of a call (the ``call`` object of
``GET /call/{id}``) into the flat ``{name: text}`` map the SDK documents for Slack and
Zoho templates: ``summary``, ``outcome``, ``phone``, ``call_url``, ``assistant_name``,
``campaign_name``, ``transcript``, the contact's ``first_name`` / ``last_name`` /
``email`` / ``company`` / ``job_title`` / ``contact_name`` / ``contact_line``, plus every
prompt variable and structured-output key.

Precedence, lowest first: prompt variables, structured output (the data extracted from
the call is newer than what the call was given), non-empty contact fields, then the
documented built-ins, which always mean what the documentation says.

``fill`` renders a template where a variable that is missing renders as empty text, never
as a literal ``{{name}}``: a recipient must not see placeholders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from openrevox.domain.templating import PLACEHOLDER

CONTACT_FIELDS = ("first_name", "last_name", "email", "company", "job_title")
BUILT_INS = (
    "summary",
    "outcome",
    "phone",
    "call_url",
    "assistant_name",
    "campaign_name",
    "transcript",
)
SPEAKERS = {"assistant": "Agent", "user": "Caller", "human_agent": "Human agent"}


def call_variables(
    *,
    call: Mapping[str, Any],
    assistant_name: str,
    campaign_name: str | None,
    call_url: str | None,
    summary: str | None = None,
) -> dict[str, str]:
    """Every template variable of ``call`` (its wire form), as text.

    ``summary`` is the after-call analysis' summary when the caller has it (the wire form
    has no such field); otherwise ``call["summary"]`` if present, else the call's
    ``outcome_summary``.
    """
    values: dict[str, str] = {}
    for name, value in (call.get("prompt_variables") or {}).items():
        values[str(name)] = as_text(value)
    for name, value in structured_output(call).items():
        values[str(name)] = as_text(value)
    contact = contact_fields(call)
    for name, text in contact.items():
        if text:
            values[name] = text
        else:
            values.setdefault(name, "")
    name = contact_name(contact)
    if name or "contact_name" not in values:
        values["contact_name"] = name
    phone = prospect_phone(call)
    values["contact_line"] = contact_line(contact, phone)
    outcome = call.get("outcome")
    summary = summary or call.get("summary") or call.get("outcome_summary")
    values.update(
        {
            "summary": as_text(summary).strip(),
            "outcome": str(outcome) if outcome else "none",
            "phone": phone,
            "call_url": call_url or "",
            "assistant_name": assistant_name,
            "campaign_name": campaign_name or "",
            "transcript": transcript_text(call),
        }
    )
    return values


def fill(template: str, variables: Mapping[str, str]) -> str:
    """Fill every ``{{name}}``; one without a value becomes empty text."""
    return PLACEHOLDER.sub(lambda m: variables.get(m.group(1), ""), template)


def fill_lines(template: str, variables: Mapping[str, str]) -> str:
    """Fill ``template`` line by line, leaving out each line whose placeholders all came
    out empty (a default template's ``*Campaign:* {{campaign_name}}`` without a campaign)."""
    kept: list[str] = []
    for line in template.splitlines():
        names = [m.group(1) for m in PLACEHOLDER.finditer(line)]
        if names and not any(variables.get(name, "").strip() for name in names):
            continue
        kept.append(fill(line, variables))
    return "\n".join(kept).strip()


def latest_attempt(call: Mapping[str, Any]) -> Mapping[str, Any]:
    """The most recent attempt (``last_call_attempt``, else the first of ``call_attempts``)."""
    latest = call.get("last_call_attempt")
    if isinstance(latest, Mapping):
        return latest
    attempts = call.get("call_attempts") or []
    return attempts[0] if attempts and isinstance(attempts[0], Mapping) else {}


def structured_output(call: Mapping[str, Any]) -> dict[str, Any]:
    """The data extracted from the call: the most recent attempt that has some."""
    candidates = [latest_attempt(call), *(call.get("call_attempts") or [])]
    for attempt in candidates:
        output = attempt.get("structured_output") if isinstance(attempt, Mapping) else None
        if output:
            return dict(output)
    return dict(call.get("structured_output") or {})


def prospect_phone(call: Mapping[str, Any]) -> str:
    """The other party's number: who was called, or who called in."""
    if call.get("direction") == "inbound":
        return str(call.get("from_phone_number") or call.get("to_phone_number") or "")
    return str(call.get("to_phone_number") or latest_attempt(call).get("phone_number") or "")


def contact_fields(call: Mapping[str, Any]) -> dict[str, str]:
    contact = call.get("contact") or {}
    return {name: as_text(contact.get(name)).strip() for name in CONTACT_FIELDS}


def contact_name(contact: Mapping[str, str]) -> str:
    return " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)


def contact_line(contact: Mapping[str, str], phone: str) -> str:
    """One line naming the prospect: ``Jane Doe · CTO at Acme · jane@acme.com · +1...``."""
    role = contact.get("job_title", "")
    company = contact.get("company", "")
    position = f"{role} at {company}" if role and company else role or company
    parts = [contact_name(contact), position, contact.get("email", ""), phone]
    return " · ".join(p for p in parts if p)


def transcript_text(call: Mapping[str, Any]) -> str:
    """The latest attempt's conversation as ``Agent: ...`` / ``Caller: ...`` lines
    (the post-call transcript when there is one); tool calls are left out."""
    attempt = latest_attempt(call)
    entries = attempt.get("post_call_transcript") or attempt.get("transcript") or []
    lines = []
    for entry in entries:
        speaker = SPEAKERS.get(str(entry.get("role")))
        content = str(entry.get("content") or "").strip()
        if speaker and content:
            lines.append(f"{speaker}: {content}")
    return "\n".join(lines)


def as_text(value: Any) -> str:
    """A variable's text: ``""`` for null, ``true``/``false``, ``3`` for ``3.0``, JSON for
    lists and objects."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
