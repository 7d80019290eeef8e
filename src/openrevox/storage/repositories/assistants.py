"""Assistants and their FAQ items, always scoped to one organization."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import Assistant, Call, FaqItem, User, new_id


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
