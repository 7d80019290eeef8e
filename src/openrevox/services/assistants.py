"""Assistant use cases: create, read, partial update, list, archive, clone."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.assistant_defaults import (
    DEFAULT_CONFIG,
    LEGACY_TRANSFER_LABEL,
    effective_transfer_mode,
)
from openrevox.domain.identifiers import is_resource_id
from openrevox.domain.secrets import is_mask_of, mask
from openrevox.errors import InvalidInput, NotFound
from openrevox.schemas.assistant_parts import FaqItemInput
from openrevox.schemas.assistants import (
    AssistantCreate,
    AssistantUpdate,
    config_fields,
    dump_fields,
)
from openrevox.services import call_snapshots, phone_numbers
from openrevox.services.auth import Principal
from openrevox.services.call_snapshots import UnpatchedCalls
from openrevox.storage.models import Assistant, FaqItem, User, new_id, utcnow
from openrevox.storage.repositories import assistants as repo

CONFIG_FIELDS = config_fields()
HIDDEN_FROM_LIST = ("sub-assistant",)


@dataclass
class AssistantView:
    """An assistant with what its wire form needs besides the row."""

    assistant: Assistant
    faq_items: list[FaqItem]
    creator: User | None
    # After an update: pending calls left on their old snapshot (docs/calls.md).
    unpatched_calls: UnpatchedCalls | None = None


async def create(
    session: AsyncSession, principal: Principal, body: AssistantCreate
) -> AssistantView:
    changes = _config_changes(body, stored={})
    config = {**copy.deepcopy(DEFAULT_CONFIG), **changes}
    _check_config(config)
    await _check_from_number(session, principal.organization_id, changes, stored={})
    now = utcnow()
    assistant = Assistant(
        id=new_id(),
        organization_id=principal.organization_id,
        name=body.name,
        type=body.type or "standalone",
        config=config,
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    repo.add(session, assistant)
    await session.flush()
    faq = await _merge_faq_items(session, assistant.id, body.faq_items or [], existing=[])
    await session.flush()
    return await _view(session, assistant, faq)


async def get(session: AsyncSession, principal: Principal, assistant_id: str) -> AssistantView:
    assistant = await _require(session, principal, assistant_id)
    faq = (await repo.faq_items(session, [assistant.id]))[assistant.id]
    return await _view(session, assistant, faq)


async def listing(session: AsyncSession, principal: Principal) -> list[AssistantView]:
    rows = await repo.listing(session, principal.organization_id, exclude_types=HIDDEN_FROM_LIST)
    faq = await repo.faq_items(session, [a.id for a in rows])
    creators = await repo.users(session, {a.created_by_id for a in rows if a.created_by_id})
    return [AssistantView(a, faq[a.id], creators.get(a.created_by_id or "")) for a in rows]


async def update(
    session: AsyncSession, principal: Principal, assistant_id: str, body: AssistantUpdate
) -> AssistantView:
    assistant = await _require(session, principal, assistant_id, for_update=True)
    changes = _config_changes(body, stored=assistant.config)
    config = {**copy.deepcopy(DEFAULT_CONFIG), **assistant.config, **changes}
    _check_config(config)
    await _check_from_number(session, principal.organization_id, changes, assistant.config)
    faq = (await repo.faq_items(session, [assistant.id]))[assistant.id]
    if changes:
        assistant.config = config
    if body.name is not None:
        assistant.name = body.name
    if body.type is not None:
        assistant.type = body.type
    if body.faq_items is not None:
        faq = await _merge_faq_items(session, assistant.id, body.faq_items, existing=faq)
    assistant.updated_at = _later_than(assistant.updated_at)
    await session.flush()
    view = await _view(session, assistant, faq)
    # The assistant's pending calls take the new version when they give its variables.
    snapshot = call_snapshots.stored_snapshot(to_wire(view), assistant.config)
    view.unpatched_calls = await call_snapshots.refresh_pending_calls(
        session, assistant.id, snapshot, utcnow()
    )
    return view


async def delete(session: AsyncSession, principal: Principal, assistant_id: str) -> None:
    """Archive the assistant: gone from the API, still there for what refers to it."""
    assistant = await _require(session, principal, assistant_id, for_update=True)
    await call_snapshots.refuse_deletion_if_used(session, assistant.id)
    assistant.deleted_at = utcnow()


async def clone(session: AsyncSession, principal: Principal, assistant_id: str) -> AssistantView:
    source = await _require(session, principal, assistant_id)
    source_faq = (await repo.faq_items(session, [source.id]))[source.id]
    now = utcnow()
    twin = Assistant(
        id=new_id(),
        organization_id=source.organization_id,
        name=source.name,
        type=source.type,
        config=copy.deepcopy(source.config),
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    repo.add(session, twin)
    await session.flush()
    faq = [
        FaqItem(
            id=new_id(),
            assistant_id=twin.id,
            position=item.position,
            question=item.question,
            answer=item.answer,
            needs_human_answer=item.needs_human_answer,
            source=item.source,
        )
        for item in source_faq
    ]
    session.add_all(faq)
    await session.flush()
    return await _view(session, twin, faq)


def to_wire(view: AssistantView) -> dict[str, Any]:
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
    creator = view.creator
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
        "created_at": _timestamp(a.created_at),
        "updated_at": _timestamp(a.updated_at),
        "created_by": None
        if creator is None
        else {
            "id": creator.id,
            "email": creator.email,
            "first_name": creator.first_name,
            "last_name": creator.last_name,
        },
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


# ---- helpers ----


async def _require(
    session: AsyncSession, principal: Principal, assistant_id: str, *, for_update: bool = False
) -> Assistant:
    assistant = None
    if is_resource_id(assistant_id):
        assistant = await repo.get(
            session, principal.organization_id, assistant_id, for_update=for_update
        )
    if assistant is None:
        raise NotFound(f"no assistant with id {assistant_id!r}")
    return assistant


async def _view(session: AsyncSession, assistant: Assistant, faq: list[FaqItem]) -> AssistantView:
    creators = await repo.users(session, {assistant.created_by_id} - {None})  # type: ignore[arg-type]
    return AssistantView(assistant, faq, creators.get(assistant.created_by_id or ""))


def _config_changes(body: AssistantUpdate, *, stored: dict[str, Any]) -> dict[str, Any]:
    """The config fields the request sets, in stored form. Raises on forbidden nulls."""
    sent = body.model_fields_set
    changes = dump_fields(body, set(sent & CONFIG_FIELDS))
    if changes.get("webhook_url") == "":
        changes["webhook_url"] = None  # an empty URL removes the webhook
    if "transfer_phone_number" in sent:
        changes["transfer_destinations"] = _legacy_transfer(body)
    llm_model = changes.get("llm_model")
    previous = stored.get("llm_model") or {}
    if (
        llm_model
        and llm_model["type"] == "custom"
        and previous.get("type") == "custom"
        and is_mask_of(llm_model["api_key"], previous["api_key"])
    ):
        llm_model["api_key"] = previous["api_key"]  # the masked key sent back keeps the key
    return changes


def _legacy_transfer(body: AssistantUpdate) -> list[dict[str, str]] | None:
    number = body.transfer_phone_number
    legacy = [{"label": LEGACY_TRANSFER_LABEL, "phone_number": number}] if number else None
    if "transfer_destinations" in body.model_fields_set:
        given = body.transfer_destinations or []
        if [d.phone_number for d in given] != ([number] if number else []):
            raise InvalidInput.at(
                "transfer_phone_number",
                "disagrees with transfer_destinations; send only transfer_destinations",
            )
        return dump_fields(body, {"transfer_destinations"})["transfer_destinations"]  # type: ignore[no-any-return]
    return legacy


def _check_config(config: dict[str, Any]) -> None:
    """Rules that span fields, checked on the assistant as it will be stored."""
    if config["first_sentence_mode"] == "static" and not (config["first_sentence"] or "").strip():
        raise InvalidInput.at("first_sentence", "is required when first_sentence_mode is 'static'")


async def _check_from_number(
    session: AsyncSession,
    organization_id: str,
    changes: dict[str, Any],
    stored: dict[str, Any],
    *,
    path: str = "from_phone_number",
) -> None:
    """A new ``from_phone_number`` must be one of the organization's numbers
    (docs/phone_numbers.md); the number already stored stays accepted."""
    number = changes.get("from_phone_number")
    if number and number != stored.get("from_phone_number"):
        await phone_numbers.require_owned(session, organization_id, number, path)


async def _merge_faq_items(
    session: AsyncSession,
    assistant_id: str,
    items: list[FaqItemInput],
    *,
    existing: list[FaqItem],
) -> list[FaqItem]:
    """Replace the FAQ list; items sent with a known id keep their identity and source."""
    by_id = {item.id: item for item in existing}
    result: list[FaqItem] = []
    for position, item in enumerate(items):
        row = by_id.pop(item.id, None) if item.id else None
        if row is None:
            row = FaqItem(id=new_id(), assistant_id=assistant_id, source=item.source or "human")
            session.add(row)
        elif item.source:
            row.source = item.source
        row.position = position
        row.question = item.question
        row.answer = item.answer
        row.needs_human_answer = (
            item.needs_human_answer
            if item.needs_human_answer is not None
            else not item.answer.strip()
        )
        result.append(row)
    for gone in by_id.values():
        await session.delete(gone)
    return result


def _later_than(previous: datetime) -> datetime:
    """Now, or just after ``previous`` if the clock has not moved past it."""
    now = utcnow()
    return now if now > previous else previous + timedelta(microseconds=1)


def _timestamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
