"""After-call analysis: one LLM request for the summary, outcome, contact and structured
output of a call, checked against the assistant's schema and repaired, never stored
invalid (docs/postcall.md#analysis).

    analysis = await analyse_call(call.assistant_snapshot, facts, settings, http=client)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from openrevox.config import Settings
from openrevox.errors import OpenrevoxError
from openrevox.postcall.prompts import (
    build_messages,
    has_conversation,
    render_transcript,
    repair_message,
)
from openrevox.postcall.structured import (
    CONTACT_FIELDS,
    Checked,
    OutputField,
    check_reply,
    output_fields,
)
from openrevox.providers.llm.base import LlmNotConfigured, LlmRoute
from openrevox.providers.llm.router import NO_KEY, text_route

__all__ = ["Analysis", "AnalysisError", "CallFacts", "analyse_call", "analysis_route"]

REPAIR_ROUNDS = 2
TIMEOUT_SECS = 60.0
NO_MODEL = ""  # Analysis.model when no LLM was asked (no conversation)


@dataclass(frozen=True)
class CallFacts:
    """What the analysis reads of a call."""

    transcript: list[dict[str, Any]]  # TranscriptItem dicts (runtime/result.py)
    call_direction: str  # "outbound" | "inbound"
    user_phone_number: str
    agent_phone_number: str | None
    prompt_variables: dict[str, str]
    # When the call took place, to resolve "next Tuesday"; None: the analysis' own time.
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Analysis:
    """The analysis of one call, in the SDK's wire shapes."""

    summary: str | None
    outcome: str | None  # domain.outcomes.Outcome or None
    outcome_summary: str | None
    structured_output: dict[str, Any] | None  # None without structured_output_config
    contact: dict[str, Any] | None  # SDK CallContact: first_name, last_name, email, ...
    model: str  # the model that analysed; "" when none was asked


class AnalysisError(OpenrevoxError):
    """The analysis failed and may succeed later: LLM unreachable or failing, or its
    answer still invalid after the repairs."""

    status_code = 502
    code = "analysis_failed"


def analysis_route(config: Mapping[str, Any], settings: Settings) -> LlmRoute:
    """``analysis_base_url`` when set, else the assistant's own LLM route (for a realtime
    model, ``openai_realtime_text_model``: ``router.text_route``).

    Raises ``LlmNotConfigured`` (naming the setting) or ``LlmUnsupported``.
    """
    if settings.analysis_base_url:
        if not settings.analysis_model:
            raise LlmNotConfigured(
                "OPENREVOX_ANALYSIS_MODEL",
                f"call analysis goes to OPENREVOX_ANALYSIS_BASE_URL "
                f"({settings.analysis_base_url}); name the model to use there",
            )
        key = settings.analysis_api_key
        return LlmRoute(
            kind="custom",
            base_url=settings.analysis_base_url,
            model=settings.analysis_model,
            api_key=key.get_secret_value() if key is not None else NO_KEY,
        )
    return text_route(config.get("llm_model") or {}, settings)


async def analyse_call(
    config: Mapping[str, Any], facts: CallFacts, settings: Settings, *, http: httpx.AsyncClient
) -> Analysis:
    """Analyse one call; raises ``AnalysisError`` (retry later) or ``LlmNotConfigured``."""
    fields = output_fields(config)
    if not has_conversation(facts.transcript):
        nulls = dict.fromkeys(f.name for f in fields) if fields else None
        return Analysis(None, None, None, nulls, None, NO_MODEL)
    route = analysis_route(config, settings)
    messages: list[dict[str, str]] = build_messages(
        config,
        fields,
        transcript=render_transcript(facts.transcript),
        call_direction=facts.call_direction,
        user_phone_number=facts.user_phone_number,
        agent_phone_number=facts.agent_phone_number,
        prompt_variables=facts.prompt_variables,
        call_date=facts.ended_at or datetime.now(UTC),
    )
    for round_ in range(REPAIR_ROUNDS + 1):
        text = await complete_json(http, route, messages)
        checked = check_reply(text, fields)
        if not checked.problems or round_ == REPAIR_ROUNDS:
            break
        messages += [{"role": "assistant", "content": text or ""}, repair_message(checked.problems)]
    return _settle(checked, fields, facts, route)


def _settle(
    checked: Checked, fields: list[OutputField], facts: CallFacts, route: LlmRoute
) -> Analysis:
    """The final answer: fatal problems fail; droppable values are already left out."""
    if checked.fatal:
        listed = "; ".join(str(p) for p in checked.fatal)
        raise AnalysisError(
            f"analysis by {route.describe()} still invalid after {REPAIR_ROUNDS} repairs: {listed}"[
                :1000
            ]
        )
    contact: dict[str, Any] = dict(checked.contact)
    for name in CONTACT_FIELDS:  # the call's input data fills what the talk did not
        given = str(facts.prompt_variables.get(name) or "").strip()
        if contact.get(name) is None and given:
            contact[name] = given
    return Analysis(
        summary=checked.summary,
        outcome=checked.outcome,
        outcome_summary=checked.outcome_summary,
        structured_output=checked.structured_output if fields else None,
        contact=contact,
        model=route.model,
    )


async def complete_json(
    http: httpx.AsyncClient, route: LlmRoute, messages: list[dict[str, str]]
) -> str | None:
    """One non-streaming chat completion in JSON mode; the reply's text (None if empty)."""
    return await complete_chat(http, route, messages, json_mode=True)


async def complete_chat(
    http: httpx.AsyncClient,
    route: LlmRoute,
    messages: list[dict[str, str]],
    *,
    json_mode: bool = False,
) -> str | None:
    """One non-streaming chat completion; the reply's text (None if empty).

    Raises ``AnalysisError`` (worth retrying later) when the LLM fails."""
    body: dict[str, Any] = {"model": route.model, "messages": messages, "stream": False}
    if json_mode:
        body["response_format"] = {"type": "json_object"}
    if route.openrouter_provider:
        body["provider"] = {"order": [route.openrouter_provider]}
    where = route.describe()
    try:
        response = await http.post(
            route.base_url.rstrip("/") + "/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {route.api_key}"},
            timeout=TIMEOUT_SECS,
        )
    except httpx.TimeoutException as exc:
        raise AnalysisError(f"LLM timed out: {where}") from exc
    except httpx.HTTPError as exc:
        raise AnalysisError(f"LLM unreachable: {where}: {type(exc).__name__}") from exc
    if response.status_code >= 400:
        raise AnalysisError(
            f"LLM answered HTTP {response.status_code}: {where}: {_error_message(response)}"
        )
    try:
        content = response.json()["choices"][0]["message"].get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise AnalysisError(f"LLM answered an unreadable completion: {where}") from exc
    return content if isinstance(content, str) else None


def _error_message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:300]
    inner = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(inner, dict) and inner.get("message"):
        return str(inner["message"])[:300]
    return str(inner)[:300]
