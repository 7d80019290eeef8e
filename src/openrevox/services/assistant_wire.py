"""An assistant's wire form, from ORM rows or the plain records of one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from openrevox.domain.assistant_defaults import DEFAULT_CONFIG, effective_transfer_mode
from openrevox.domain.secrets import mask
from openrevox.services.wire_values import UserFields, member, timestamp

# What to_wire reads: ORM rows (assistants.AssistantView) or unit records (RecordView).


class AssistantFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def organization_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class FaqFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def answer(self) -> str: ...
    @property
    def needs_human_answer(self) -> bool: ...
    @property
    def source(self) -> str: ...


class WireSource(Protocol):
    @property
    def assistant(self) -> AssistantFields: ...
    @property
    def faq_items(self) -> Sequence[FaqFields]: ...
    @property
    def creator(self) -> UserFields | None: ...


def to_wire(view: WireSource) -> dict[str, Any]:
    """The assistant as every SDK version from 0.1.1 to 0.5.0 validates it."""
    a = view.assistant
    config = {**DEFAULT_CONFIG, **a.config}
    llm_model = config["llm_model"]
    if llm_model.get("type") == "custom":
        llm_model = {**llm_model, "api_key": mask(llm_model["api_key"])}
    slack = config["slack"]
    if slack:
        first = slack["channels"][0]
        slack = {**slack, "channel_id": first["id"], "channel_name": first.get("name")}
    destinations = config["transfer_destinations"]
    return {
        **config,
        "id": a.id,
        "organization_id": a.organization_id,
        "name": a.name,
        "type": a.type,
        "llm_model": llm_model,
        "slack": slack,
        "human_transfer_mode": effective_transfer_mode(config),
        "transfer_phone_number": destinations[0]["phone_number"] if destinations else None,
        "created_at": timestamp(a.created_at),
        "updated_at": timestamp(a.updated_at),
        "created_by": member(view.creator),
        "faq_items": [
            {
                "id": f.id,
                "question": f.question,
                "answer": f.answer,
                "needs_human_answer": f.needs_human_answer,
                "source": f.source,
            }
            for f in view.faq_items
        ],
        "pending_faq_count": sum(1 for f in view.faq_items if f.needs_human_answer),
    }
