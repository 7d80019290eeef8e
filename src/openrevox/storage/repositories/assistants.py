"""Assistants and their FAQ items, always scoped to one organization."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    String,
    bindparam,
    delete,
    exists,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import ApiKey, Assistant, Call, FaqItem, User, new_id
from openrevox.storage.units import Prepared, UnitConnection


async def get(
    session: AsyncSession, organization_id: str, assistant_id: str, *, for_update: bool = False
) -> Assistant | None:
    """A live assistant of the organization; archived ones and others' are invisible.

    ``for_update`` locks the row until the transaction ends, so concurrent writers of
    one assistant take turns instead of overwriting each other.
    """
    query = select(Assistant).where(
        Assistant.id == assistant_id,
        Assistant.organization_id == organization_id,
        Assistant.deleted_at.is_(None),
    )
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def listing(
    session: AsyncSession, organization_id: str, *, exclude_types: Sequence[str] = ()
) -> list[Assistant]:
    query = (
        select(Assistant)
        .where(Assistant.organization_id == organization_id, Assistant.deleted_at.is_(None))
        .order_by(Assistant.created_at.desc(), Assistant.id)
    )
    if exclude_types:
        query = query.where(Assistant.type.not_in(exclude_types))
    return list(await session.scalars(query))


def add(session: AsyncSession, assistant: Assistant) -> None:
    session.add(assistant)


async def faq_items(
    session: AsyncSession, assistant_ids: Sequence[str]
) -> dict[str, list[FaqItem]]:
    """FAQ items of several assistants in one query, in their stored order."""
    result: dict[str, list[FaqItem]] = {assistant_id: [] for assistant_id in assistant_ids}
    if not assistant_ids:
        return result
    rows = await session.scalars(
        select(FaqItem)
        .where(FaqItem.assistant_id.in_(assistant_ids))
        .order_by(FaqItem.assistant_id, FaqItem.position)
    )
    for item in rows:
        result[item.assistant_id].append(item)
    return result


async def replace_faq_items(
    session: AsyncSession, assistant_id: str, items: Sequence[FaqItem]
) -> None:
    await session.execute(delete(FaqItem).where(FaqItem.assistant_id == assistant_id))
    session.add_all(items)


async def users(session: AsyncSession, user_ids: set[str]) -> dict[str, User]:
    if not user_ids:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(user_ids)))
    return {user.id: user for user in rows}


async def add_learned_questions(
    session: AsyncSession, call_id: str, questions: Sequence[str], now: datetime
) -> int:
    """Questions the agent could not answer on a call become FAQ items of the call's
    assistant, waiting for a human answer (``source`` ai). A question already listed
    (same text, any case) is not added again. Returns how many were added."""
    assistant_id = await session.scalar(select(Call.assistant_id).where(Call.id == call_id))
    if assistant_id is None:
        return 0  # an inline assistant: no FAQ to learn into
    # The assistant row lock orders this with PATCHes replacing the FAQ list.
    await session.execute(
        select(Assistant.id).where(Assistant.id == assistant_id).with_for_update()
    )
    existing = (await faq_items(session, [assistant_id]))[assistant_id]
    known = {item.question.strip().lower() for item in existing}
    position = max((item.position for item in existing), default=-1) + 1
    added = 0
    for question in questions:
        text = question.strip()
        if not text or text.lower() in known:
            continue
        known.add(text.lower())
        session.add(
            FaqItem(
                id=new_id(),
                assistant_id=assistant_id,
                position=position,
                question=text,
                answer="",
                needs_human_answer=True,
                source="ai",
                created_at=now,
            )
        )
        position += 1
        added += 1
    return added


# ---- one synchronous unit of work (Database.unit): the hot paths of GET and PATCH ----
#
# Plain rows instead of ORM objects, and statements compiled once (storage/units.py).


@dataclass(frozen=True, slots=True)
class AssistantRecord:
    id: str
    organization_id: str
    name: str
    type: str
    config: dict[str, Any]
    created_by_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CreatorRecord:
    id: str
    email: str
    first_name: str | None
    last_name: str | None


@dataclass(frozen=True, slots=True)
class FaqRecord:
    id: str
    question: str
    answer: str
    needs_human_answer: bool
    source: str


@dataclass(frozen=True, slots=True)
class KeyedAssistant:
    """What one API key may see of one assistant: ``assistant`` is None when the key's
    organization has no live assistant with that id."""

    organization_id: str
    user_id: str
    api_key_id: str
    assistant: AssistantRecord | None
    creator: CreatorRecord | None


def _keyed_assistant_query(lock: bool) -> Select[Any]:
    visible = (
        (Assistant.id == bindparam("assistant_id"))
        & (Assistant.organization_id == ApiKey.organization_id)
        & Assistant.deleted_at.is_(None)
    )
    query = select(
        ApiKey.organization_id,
        ApiKey.user_id,
        ApiKey.id,
        Assistant.id,
        Assistant.organization_id,
        Assistant.name,
        Assistant.type,
        Assistant.config,
        Assistant.created_by_id,
        Assistant.created_at,
        Assistant.updated_at,
        User.id,
        User.email,
        User.first_name,
        User.last_name,
    ).select_from(ApiKey)
    # Locking needs the assistant on the inner side of the join (PostgreSQL refuses to
    # lock the nullable side of an outer join): a miss is then told apart by key_is_active.
    query = query.join(Assistant, visible) if lock else query.outerjoin(Assistant, visible)
    query = query.outerjoin(User, User.id == Assistant.created_by_id).where(
        ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None)
    )
    return query.with_for_update(of=Assistant) if lock else query


_KEYED_ASSISTANT = Prepared(_keyed_assistant_query(lock=False))
_KEYED_ASSISTANT_LOCKED = Prepared(_keyed_assistant_query(lock=True))


def keyed_assistant(
    connection: UnitConnection, key_hash: str, assistant_id: str | None, *, lock: bool = False
) -> KeyedAssistant | None:
    """The active API key with ``key_hash`` and its organization's live assistant
    ``assistant_id``, in one statement. ``lock`` locks the assistant's row until the
    transaction ends and returns None when either is missing; without it, None means
    no active key."""
    row = connection.first(
        _KEYED_ASSISTANT_LOCKED if lock else _KEYED_ASSISTANT,
        {"key_hash": key_hash, "assistant_id": assistant_id},
    )
    if row is None:
        return None
    assistant = None if row[3] is None else AssistantRecord(*row[3:11])
    creator = None if row[11] is None else CreatorRecord(*row[11:15])
    return KeyedAssistant(row[0], row[1], row[2], assistant, creator)


_ACTIVE_KEY = Prepared(
    select(ApiKey.id).where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


def key_is_active(connection: UnitConnection, key_hash: str) -> bool:
    return connection.first(_ACTIVE_KEY, {"key_hash": key_hash}) is not None


_FAQ_RECORDS = Prepared(
    select(FaqItem.id, FaqItem.question, FaqItem.answer, FaqItem.needs_human_answer, FaqItem.source)
    .where(FaqItem.assistant_id == bindparam("assistant_id"))
    .order_by(FaqItem.position)
)


def faq_records(connection: UnitConnection, assistant_id: str) -> list[FaqRecord]:
    rows = connection.all(_FAQ_RECORDS, {"assistant_id": assistant_id})
    return [FaqRecord(*row) for row in rows]


@functools.cache
def _store_query(pending_statuses: tuple[str, ...]) -> Prepared:
    # The statuses are written into the statement (plain identifiers), so that it
    # compiles once to final SQL: no IN list to expand per execution.
    if not all(status.isidentifier() for status in pending_statuses):
        raise ValueError(f"not call statuses: {pending_statuses!r}")
    statuses = [literal_column(f"'{status}'", String) for status in pending_statuses]
    pending = exists().where(Call.assistant_id == Assistant.id, Call.status.in_(statuses))
    return Prepared(
        update(Assistant)
        .where(Assistant.id == bindparam("assistant_id"), ~pending)
        .values(
            name=bindparam("new_name"),
            type=bindparam("new_type"),
            config=bindparam("new_config"),
            updated_at=bindparam("new_updated_at"),
        )
    )


def store_unless_pending_calls(
    connection: UnitConnection, assistant: AssistantRecord, pending_statuses: tuple[str, ...]
) -> bool:
    """Write the assistant's name, type, config and ``updated_at``, unless calls in
    ``pending_statuses`` use it (their snapshots need refreshing: the general path's
    work). True when written."""
    changed = connection.run(
        _store_query(pending_statuses),
        {
            "assistant_id": assistant.id,
            "new_name": assistant.name,
            "new_type": assistant.type,
            "new_config": assistant.config,
            "new_updated_at": assistant.updated_at,
        },
    )
    return changed > 0
