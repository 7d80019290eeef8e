"""The assistant a call runs with: its snapshot, the variables it needs, when it dials first,
and what an assistant's update or deletion does to the calls that use it (docs/calls.md).

Imported by ``services.assistants`` (the hooks) and ``services.calls``; it imports
neither, so the two stay free of import cycles.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.assistant_defaults import DEFAULT_CONFIG
from openrevox.domain.scheduling import (
    InvalidRetryConfig,
    NoCallingTime,
    OrderStatus,
    check_transition,
    first_attempt_at,
    next_allowed_instant,
    recipient_zones,
)
from openrevox.domain.secrets import mask
from openrevox.domain.templating import variables_in
from openrevox.errors import Conflict, FieldError, InvalidInput
from openrevox.storage.repositories import calls as repo
from openrevox.storage.repositories.campaigns import retry_overrides as campaign_retry_configs

# Calls that have not started their next attempt: an assistant update re-snapshots them.
PENDING_STATUSES: tuple[OrderStatus, ...] = (
    "initializing",
    "not_launched",
    "scheduled",
    "queued_for_calling",
    "paused",
)
# Calls that are not over: an assistant they use cannot be deleted.
UNFINISHED_STATUSES: tuple[OrderStatus, ...] = (
    "initializing",
    "not_launched",
    "scheduled",
    "queued_for_calling",
    "calling",
    "post_processing",
    "paused",
)
# Statuses whose next attempt time is planned now (paused ones are re-planned on resume).
PLANNED_STATUSES: frozenset[str] = frozenset({"scheduled", "queued_for_calling"})


@dataclass(frozen=True)
class UnpatchedCalls:
    """Pending calls an assistant update left on their old snapshot, and why."""

    count: int
    variables: list[str]

    def to_wire(self) -> dict[str, Any]:
        return {"count": self.count, "variables": self.variables}


def required_variables(assistant: Mapping[str, Any]) -> set[str]:
    """Every ``{{variable}}`` a call with this assistant (wire form) may fill from its
    ``prompt_variables``: the texts it speaks, sends and requests.

    The prompt; the first sentence unless ``first_sentence_mode`` is ``none``; the end,
    max-duration and voicemail messages; the warm-transfer instructions; the SMS template
    when SMS is enabled; the after-call SMS prompt when outcomes trigger it; the voicemail
    SMS prompt; and each custom tool's URL, body, header and query values, less the
    tool's own arguments (the LLM fills those). Slack and Zoho templates and the
    structured-output prompt name server-provided values and are not counted.
    """
    a = {**DEFAULT_CONFIG, **assistant}
    texts: list[str | None] = [
        a.get("prompt"),
        a.get("end_of_call_sentence"),
        a.get("max_duration_end_message"),
        a.get("voicemail_message"),
        a.get("warm_transfer_summary_instructions"),
        a.get("voicemail_sms_prompt"),
    ]
    if a.get("first_sentence_mode") != "none":
        texts.append(a.get("first_sentence"))
    if a.get("sms_enabled"):
        texts.append(a.get("sms_template"))
    if a.get("after_call_sms_outcomes"):
        texts.append(a.get("after_call_sms_prompt"))
    needed = variables_in(*texts)
    for tool in a.get("custom_tools") or []:
        arguments = {spec["name"] for spec in tool.get("input_schema") or []}
        templates = [tool.get("url"), tool.get("body_template")]
        templates += [
            kv["value"] for kv in (tool.get("headers") or []) + (tool.get("query_params") or [])
        ]
        needed |= variables_in(*templates) - arguments
    return needed


def missing_variables_error(missing: set[str]) -> InvalidInput:
    """A 400 naming every absent variable, one field error each."""
    names = sorted(missing)
    return InvalidInput(
        f"prompt_variables: missing {', '.join(names)} (the assistant's texts use them)",
        fields=[
            FieldError(
                f"prompt_variables.{name}", f"is required: the assistant uses {{{{{name}}}}}"
            )
            for name in names
        ],
    )


def stored_snapshot(wire: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """An assistant's wire form (``services.assistants.to_wire``) as a call stores it:
    the custom LLM's ``api_key`` unmasked, since the call needs it."""
    snapshot = copy.deepcopy(dict(wire))
    llm_model = config.get("llm_model")
    if llm_model:
        snapshot["llm_model"] = copy.deepcopy(llm_model)
    return snapshot


def shown_snapshot(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A stored snapshot as a response shows it: defaults of newer fields filled in,
    the custom LLM's ``api_key`` masked."""
    shown = {**DEFAULT_CONFIG, **snapshot}
    llm_model = shown.get("llm_model") or {}
    if llm_model.get("type") == "custom" and llm_model.get("api_key"):
        shown["llm_model"] = {**llm_model, "api_key": mask(llm_model["api_key"])}
    return shown


def plan_first_attempt(
    now: datetime,
    snapshot: Mapping[str, Any],
    to_phone_number: str,
    requested: datetime | None,
    skip_calling_window: bool,
    *,
    path: str = "assistant.call_retry_config",
) -> datetime:
    """When attempt 1 may start: ``max(now, requested)`` moved into the calling windows
    and allowed days of the recipient's zone (docs/scheduling.md)."""
    config = snapshot.get("call_retry_config")
    try:
        zones = recipient_zones(to_phone_number, config)
        return first_attempt_at(
            now, config, zones, scheduled_at=requested, skip_calling_window=skip_calling_window
        )
    except (NoCallingTime, InvalidRetryConfig) as exc:
        raise InvalidInput.at(path, str(exc)) from None


def status_for(next_attempt_at: datetime, now: datetime) -> OrderStatus:
    """``queued_for_calling`` when due, else ``scheduled``."""
    return "queued_for_calling" if next_attempt_at <= now else "scheduled"


# ---- hooks of services.assistants ----


async def refresh_pending_calls(
    session: AsyncSession, assistant_id: str, snapshot: dict[str, Any], now: datetime
) -> UnpatchedCalls | None:
    """After an assistant update: its pending calls that give every variable the new
    version needs take the new snapshot (and, when the retry config changed, a re-planned
    next attempt); the others keep their snapshot and are reported."""
    pending = await repo.pending_of_assistant(session, assistant_id, PENDING_STATUSES)
    if not pending:
        return None
    needed = required_variables(snapshot)
    patched: list[repo.PendingCall] = []
    unpatched = 0
    missing: set[str] = set()
    for call in pending:
        lacking = needed - set(call.prompt_variables or {})
        if lacking:
            unpatched += 1
            missing |= lacking
        else:
            patched.append(call)
    # A campaign's call keeps its campaign's call_retry_config (docs/campaigns.md).
    overrides = await campaign_retry_configs(session, [c.id for c in patched])
    await repo.set_snapshot(
        session, [c.id for c in patched if c.id not in overrides], snapshot, now
    )
    snapshots: dict[str, dict[str, Any]] = {}
    by_campaign: dict[str, list[str]] = {}
    for call_id, campaign_id, config in overrides.values():
        snapshots.setdefault(campaign_id, {**snapshot, "call_retry_config": config})
        by_campaign.setdefault(campaign_id, []).append(call_id)
    for campaign_id, call_ids in by_campaign.items():
        await repo.set_snapshot(session, call_ids, snapshots[campaign_id], now)
    for call in patched:
        own = snapshots[overrides[call.id][1]] if call.id in overrides else snapshot
        if call.status in PLANNED_STATUSES and call.retry_config != own.get("call_retry_config"):
            await _replan(session, call, own, now)
    return UnpatchedCalls(unpatched, sorted(missing)) if unpatched else None


async def refuse_deletion_if_used(session: AsyncSession, assistant_id: str) -> None:
    """Deleting an assistant that unfinished calls use is a 409 naming how many."""
    counts = await repo.count_of_assistant(session, assistant_id, UNFINISHED_STATUSES)
    total = sum(counts.values())
    if not total:
        return
    detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    calls, them = ("call", "it") if total == 1 else ("calls", "them")
    raise Conflict(
        f"the assistant is used by {total} unfinished {calls} ({detail}); cancel {them} or "
        f"let {them} finish before deleting the assistant"
    )


async def _replan(
    session: AsyncSession, call: repo.PendingCall, snapshot: Mapping[str, Any], now: datetime
) -> None:
    config = snapshot.get("call_retry_config")
    try:
        zones = recipient_zones(call.to_phone_number, config)
        if call.calls_count == 0:
            at = first_attempt_at(
                now,
                config,
                zones,
                scheduled_at=call.requested_scheduled_at,
                skip_calling_window=call.skip_calling_window,
            )
        else:  # a retry is planned: keep its delay, move it into the new windows
            start = max(now, call.next_attempt_at or now)
            at = next_allowed_instant(
                start, config, zones, skip_calling_window=call.skip_calling_window
            )
    except (NoCallingTime, InvalidRetryConfig):
        return  # the new config allows no time: the dispatcher will error the call
    status = status_for(at, now)
    if status != call.status:
        check_transition(cast(OrderStatus, call.status), status)
    await repo.replan(
        session,
        call.id,
        status=status,
        next_attempt_at=at,
        scheduled_at=at if call.calls_count == 0 else None,
    )
