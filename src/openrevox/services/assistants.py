"""Assistant use cases: create, read, partial update, list, archive, clone.

By concern, re-exported here: the wire form (``assistant_wire``), the GET and PATCH hot
paths as one unit of work each (``assistant_units``), the rules both share with these
use cases (``assistant_rules``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.assistant_defaults import DEFAULT_CONFIG
from openrevox.domain.identifiers import is_resource_id
from openrevox.schemas.assistant_parts import FaqItemInput
from openrevox.schemas.assistants import AssistantCreate, AssistantUpdate
from openrevox.services import call_snapshots, phone_numbers
from openrevox.services.assistant_rules import (
    check_config,
    config_changes,
    later_than,
    merged_config,
    not_found,
)
from openrevox.services.assistant_units import RecordView, get_in_one_unit, update_in_one_unit
from openrevox.services.assistant_wire import WireSource, to_wire
from openrevox.services.auth import Principal
from openrevox.services.call_snapshots import UnpatchedCalls
from openrevox.storage.models import Assistant, FaqItem, User, new_id, utcnow
from openrevox.storage.repositories import assistants as repo

__all__ = [
    "AssistantView",
    "RecordView",
    "WireSource",
    "clone",
    "create",
    "delete",
    "get",
    "get_in_one_unit",
    "listing",
    "to_wire",
    "update",
    "update_in_one_unit",
    "view_of",
]

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
    changes = config_changes(body, stored={})
    config = {**copy.deepcopy(DEFAULT_CONFIG), **changes}
    check_config(config)
    await check_from_number(session, principal.organization_id, changes, stored={})
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
    return await view_of(session, assistant, faq)


async def get(session: AsyncSession, principal: Principal, assistant_id: str) -> AssistantView:
    assistant = await _require(session, principal, assistant_id)
    faq = (await repo.faq_items(session, [assistant.id]))[assistant.id]
    return await view_of(session, assistant, faq)


async def listing(session: AsyncSession, principal: Principal) -> list[AssistantView]:
    rows = await repo.listing(session, principal.organization_id, exclude_types=HIDDEN_FROM_LIST)
    faq = await repo.faq_items(session, [a.id for a in rows])
    creators = await repo.users(session, {a.created_by_id for a in rows if a.created_by_id})
    return [AssistantView(a, faq[a.id], creators.get(a.created_by_id or "")) for a in rows]


async def update(
    session: AsyncSession, principal: Principal, assistant_id: str, body: AssistantUpdate
) -> AssistantView:
    assistant = await _require(session, principal, assistant_id, for_update=True)
    changes = config_changes(body, stored=assistant.config)
    config = merged_config(assistant.config, changes)
    check_config(config)
    await check_from_number(session, principal.organization_id, changes, assistant.config)
    faq = (await repo.faq_items(session, [assistant.id]))[assistant.id]
    if changes:
        assistant.config = config
    if body.name is not None:
        assistant.name = body.name
    if body.type is not None:
        assistant.type = body.type
    if body.faq_items is not None:
        faq = await _merge_faq_items(session, assistant.id, body.faq_items, existing=faq)
    assistant.updated_at = later_than(assistant.updated_at)
    await session.flush()
    view = await view_of(session, assistant, faq)
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
    return await view_of(session, twin, faq)


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
        raise not_found(assistant_id)
    return assistant


async def view_of(session: AsyncSession, assistant: Assistant, faq: list[FaqItem]) -> AssistantView:
    creators = await repo.users(session, {assistant.created_by_id} - {None})  # type: ignore[arg-type]
    return AssistantView(assistant, faq, creators.get(assistant.created_by_id or ""))


async def check_from_number(
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
