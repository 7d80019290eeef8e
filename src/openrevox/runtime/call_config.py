"""An assistant plus prompt variables, resolved into what one call needs (pure: no I/O).

Every ``{{variable}}`` the call could speak, send or request is checked here, so a
call that lacks one is refused before anything dials (``MissingPromptVariables``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from openrevox.domain.assistant_defaults import DEFAULT_CONFIG, effective_transfer_mode
from openrevox.domain.templating import render, variables_in
from openrevox.runtime.errors import MissingPromptVariables
from openrevox.runtime.tool_specs import ToolSpec, tools_for

FirstSentenceMode = Literal["generated", "static", "none"]
TransferMode = Literal["warm", "cold"]


@dataclass(frozen=True)
class FirstSentence:
    """How the call opens: ``generated`` (the LLM writes it from ``text`` as an
    instruction), ``static`` (``text`` is said as is) or ``none`` (wait for the callee)."""

    mode: FirstSentenceMode
    text: str | None
    delay_secs: float


@dataclass(frozen=True)
class Limits:
    """When the call is ended for it: duration (then the message, uninterruptible) and
    callee silence (``user_inactivity_secs``; 0 turns it off)."""

    max_duration_secs: float
    max_duration_end_message: str | None
    user_inactivity_secs: float


@dataclass(frozen=True)
class TransferDestination:
    label: str
    phone_number: str


@dataclass(frozen=True)
class TransferPlan:
    destinations: tuple[TransferDestination, ...]
    mode: TransferMode
    summary_instructions: str | None


@dataclass(frozen=True)
class FaqEntry:
    question: str
    answer: str


@dataclass(frozen=True)
class CallConfig:
    """Everything a call session needs, with every variable filled."""

    assistant_id: str | None
    system_prompt: str
    first_sentence: FirstSentence
    end_of_call_sentence: str | None
    tools: tuple[ToolSpec, ...]
    limits: Limits
    llm_model: dict[str, Any]
    variables: dict[str, str]
    voicemail_message: str | None = None
    transfer: TransferPlan | None = None
    sms_template: str | None = None
    custom_tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    calendly: dict[str, str] | None = None
    faq: tuple[FaqEntry, ...] = ()
    stt_terms: tuple[str, ...] = ()
    assistant: dict[str, Any] = field(default_factory=dict, repr=False)

    def tool(self, name: str) -> ToolSpec | None:
        return next((t for t in self.tools if t.name == name), None)


def resolve_call_config(
    assistant: Mapping[str, Any],
    prompt_variables: Mapping[str, object] | None = None,
    *,
    user_inactivity_secs: float = 30.0,
) -> CallConfig:
    """Resolve an assistant wire dict (``services.assistants.to_wire`` or the stored
    config) for one call. Raises ``MissingPromptVariables`` listing every absent name."""
    a: dict[str, Any] = {**DEFAULT_CONFIG, **assistant}
    values = {k: str(v) for k, v in (prompt_variables or {}).items()}
    _check_variables(a, values)

    def fill(text: str | None) -> str | None:
        return render(text, values) if text else None

    mode: FirstSentenceMode = a["first_sentence_mode"]
    first = FirstSentence(
        mode=mode,
        text=fill(a["first_sentence"]) if mode != "none" else None,
        delay_secs=max(0, int(a["first_sentence_delay_ms"])) / 1000,
    )
    faq = tuple(
        FaqEntry(item["question"], item["answer"])
        for item in a.get("faq_items") or []
        if (item.get("answer") or "").strip() and not item.get("needs_human_answer")
    )
    destinations = tuple(
        TransferDestination(d["label"], d["phone_number"])
        for d in a.get("transfer_destinations") or []
    )
    transfer = (
        TransferPlan(
            destinations,
            "warm" if effective_transfer_mode(a) == "warm" else "cold",
            fill(a.get("warm_transfer_summary_instructions")),
        )
        if destinations
        else None
    )
    stt_context = a.get("stt_context") or {}
    return CallConfig(
        assistant_id=a.get("id"),
        system_prompt=_system_prompt(render(a["prompt"], values), first, faq),
        first_sentence=first,
        end_of_call_sentence=fill(a.get("end_of_call_sentence")),
        tools=tools_for(a),
        limits=Limits(
            max_duration_secs=float(a["max_call_duration_secs"]),
            max_duration_end_message=fill(a.get("max_duration_end_message")),
            user_inactivity_secs=user_inactivity_secs,
        ),
        llm_model=dict(a["llm_model"]),
        variables=values,
        voicemail_message=fill(a.get("voicemail_message")),
        transfer=transfer,
        sms_template=fill(a.get("sms_template")) if a.get("sms_enabled") else None,
        custom_tools={t["name"]: dict(t) for t in a.get("custom_tools") or []},
        calendly=dict(a["calendly"]) if a.get("calendly") else None,
        faq=faq,
        stt_terms=tuple(stt_context.get("terms") or ()),
        assistant=a,
    )


def _check_variables(a: Mapping[str, Any], values: Mapping[str, str]) -> None:
    texts = [
        a["prompt"],
        a.get("end_of_call_sentence"),
        a.get("max_duration_end_message"),
        a.get("voicemail_message"),
        a.get("warm_transfer_summary_instructions"),
    ]
    if a["first_sentence_mode"] != "none":
        texts.append(a.get("first_sentence"))
    if a.get("sms_enabled"):
        texts.append(a.get("sms_template"))
    needed = variables_in(*texts)
    for tool in a.get("custom_tools") or []:
        arguments = {spec["name"] for spec in tool["input_schema"]}
        templates = [tool["url"], tool.get("body_template")]
        templates += [kv["value"] for kv in tool["headers"] + tool["query_params"]]
        needed |= variables_in(*templates) - arguments
    missing = needed - set(values)
    if missing:
        raise MissingPromptVariables(missing)


def _system_prompt(prompt: str, first: FirstSentence, faq: tuple[FaqEntry, ...]) -> str:
    parts = [prompt.strip()]
    if faq:
        knowledge = "\n\n".join(f"Q: {e.question}\nA: {e.answer}" for e in faq)
        parts.append(
            "## Knowledge\nAnswer from these questions and answers when they apply. "
            "If the callee asks something you cannot answer, call "
            f"record_unanswered_question.\n\n{knowledge}"
        )
    if first.mode == "generated":
        instruction = first.text or "Greet the callee and say why you are calling."
        parts.append(f"## Opening\nYou speak first. {instruction}")
    elif first.mode == "none":
        parts.append("## Opening\nThe callee speaks first; answer them.")
    parts.append(
        "## Phone call\nYou are on a live phone call: keep each reply short and spoken, "
        "with no lists or markup. Use your tools when they apply."
    )
    return "\n\n".join(parts)
