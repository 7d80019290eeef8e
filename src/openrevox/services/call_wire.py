"""Calls in wire form, as every SDK version from 0.1.1 to 0.5.0 validates them.

Responses carry the union of the versions' fields. Two things cannot be a union: the
order ``status`` and the transcript ``role`` enums, which older versions list fewer
values of. The SDK says its version in ``X-Stainless-Package-Version``; for an older
one, a status it does not know is shown as its nearest known one (docs/calls.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openrevox.services.call_snapshots import shown_snapshot
from openrevox.services.wire_values import member, timestamp
from openrevox.storage.models import Call, CallAttempt, User
from openrevox.storage.repositories.calls import NumberHistory

CONTACT_FIELDS = ("company", "email", "first_name", "job_title", "last_name")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
# Statuses an SDK older than the key does not know, and what it is shown instead.
_STATUS_FALLBACKS: tuple[tuple[tuple[int, int, int], dict[str, str]], ...] = (
    ((0, 2, 0), {"paused": "scheduled", "post_processing": "calling"}),
    ((0, 4, 0), {"not_launched": "initializing"}),
)


@dataclass(frozen=True)
class Compat:
    """What the calling SDK version can read; ``None``: the newest (or not an SDK)."""

    version: tuple[int, int, int] | None = None

    @classmethod
    def from_header(cls, value: str | None) -> Compat:
        match = _VERSION.match(value or "")
        if not match:
            return cls()
        major, minor, patch = (int(part) for part in match.groups())
        return cls((major, minor, patch))

    def status(self, status: str) -> str:
        if self.version is None:
            return status
        for below, fallbacks in _STATUS_FALLBACKS:
            if self.version < below and status in fallbacks:
                return fallbacks[status]
        return status

    @property
    def knows_human_agent(self) -> bool:
        """SDK 0.1.1's transcript roles are user, assistant and tool."""
        return self.version is None or self.version >= (0, 2, 0)


NEWEST = Compat()
LEGACY_0_1 = Compat((0, 1, 1))


@dataclass
class CallView:
    """A call with what its wire form needs besides the row."""

    call: Call
    attempts: list[CallAttempt] = field(default_factory=list)  # most recent first
    users: Mapping[str, User] = field(default_factory=dict)
    campaign_names: Mapping[str, str] = field(default_factory=dict)  # by campaign id


def to_wire(view: CallView, compat: Compat = NEWEST) -> dict[str, Any]:
    c = view.call
    assistant = shown_snapshot(c.assistant_snapshot)
    attempts = [_attempt(a, view.users, compat) for a in view.attempts]
    contact = c.contact or {}
    return {
        "id": c.id,
        "organization_id": c.organization_id,
        "status": compat.status(c.status),
        "direction": c.direction,
        "to_phone_number": c.to_phone_number,
        "from_phone_number": from_number(view, assistant),
        "assistant": assistant,
        "assignee": member(view.users.get(c.assignee_id or "")),
        "call_attempts": attempts,
        "last_call_attempt": attempts[0] if attempts else None,
        "call_retry_config": assistant.get("call_retry_config"),
        "calls_count": c.calls_count,
        "campaign": _campaign(c.campaign_id, view.campaign_names),
        "contact": {name: contact.get(name) for name in CONTACT_FIELDS},
        "created_at": timestamp(c.created_at),
        "updated_at": timestamp(c.updated_at),
        "scheduled_at": timestamp(c.scheduled_at),
        "first_sentence_delay_ms": assistant["first_sentence_delay_ms"],
        "is_cancelled": c.status == "cancelled",
        "is_completed": c.status == "completed",
        "llm_model": assistant["llm_model"],
        "metadata": c.metadata_,
        "prompt_variables": c.prompt_variables,
        "follow_up_emails": c.follow_up_emails,
        "outcome": c.outcome,
        "outcome_summary": c.outcome_summary,
        "slack_channel_ids": c.slack_channel_ids,
    }


def legacy_entry(view: CallView) -> dict[str, Any]:
    """SDK 0.1.1 ``GET /call``: a call order as its latest attempt, under the order's id
    (so ``retrieve(id)`` works); an order not dialled yet is a ``queued`` attempt."""
    c = view.call
    latest = view.attempts[0] if view.attempts else None
    if latest is None:
        return {
            "id": c.id,
            "status": "queued",
            "phone_number": c.to_phone_number,
            "started_at": None,
            "answered_at": None,
            "ended_at": None,
            "result": None,
            "dial_error": None,
            "ended_by": None,
            "end_reason": None,
            "recording_url": None,
            "structured_output": c.structured_output,
            "transcript": None,
        }
    return {
        "id": c.id,
        "status": latest.status,
        "phone_number": latest.phone_number,
        "started_at": timestamp(latest.started_at),
        "answered_at": timestamp(latest.answered_at),
        "ended_at": timestamp(latest.ended_at),
        "result": latest.result,
        "dial_error": latest.dial_error,
        "ended_by": latest.ended_by,
        "end_reason": latest.end_reason,
        "recording_url": latest.recording_url,
        "structured_output": latest.structured_output or c.structured_output,
        "transcript": _transcript(latest.transcript, LEGACY_0_1),
    }


def phone_history_wire(history: Mapping[str, NumberHistory]) -> dict[str, Any]:
    return {
        number: {
            "count": h.count,
            "last_called_at": timestamp(h.last_called_at),
            "last_outcome": h.last_outcome,
            "campaigns": [_campaign(cid, h.campaign_names) for cid in h.campaign_ids],
            "reached_human": h.reached_human,
            "hot": h.last_outcome == "interested",
            "do_not_contact": h.do_not_contact,
        }
        for number, h in history.items()
    }


def from_number(view: CallView, assistant: Mapping[str, Any]) -> str:
    """The call's own number, else its assistant's, else the one the latest attempt
    dialled from (the trunk's default); empty until one is known."""
    dialled = view.attempts[0].from_phone_number if view.attempts else None
    return view.call.from_phone_number or assistant.get("from_phone_number") or dialled or ""


def _attempt(a: CallAttempt, users: Mapping[str, User], compat: Compat) -> dict[str, Any]:
    return {
        "id": a.id,
        "status": a.status,
        "phone_number": a.phone_number,
        "started_at": timestamp(a.started_at),
        "answered_at": timestamp(a.answered_at),
        "ended_at": timestamp(a.ended_at),
        "result": a.result,
        "dial_error": a.dial_error,
        "ended_by": a.ended_by,
        "end_reason": a.end_reason,
        "handled_by_ai": a.handled_by_ai,
        "handled_by_human": a.handled_by_human,
        "handled_by_user": member(users.get(a.handled_by_user_id or "")),
        "recording_url": a.recording_url,
        "assistants_used": a.assistants_used,
        "transcript": _transcript(a.transcript, compat),
        "post_call_transcript": _transcript(a.post_call_transcript, compat),
        "speech_events": a.speech_events,
        "email_log": a.email_log,
        "sms_log": a.sms_log,
        "structured_output": a.structured_output,
    }


def _transcript(
    entries: list[dict[str, Any]] | None, compat: Compat
) -> list[dict[str, Any]] | None:
    if entries is None or compat.knows_human_agent:
        return entries
    return [
        {**entry, "role": "assistant"} if entry.get("role") == "human_agent" else entry
        for entry in entries
    ]


def _campaign(
    campaign_id: str | None, names: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """``{id, name}``; a campaign whose name was not loaded is named by its id."""
    if campaign_id is None:
        return None
    return {"id": campaign_id, "name": (names or {}).get(campaign_id, campaign_id)}
