"""Cloned voices, scoped to one organization, and the assistants that use a voice."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import Assistant, Call, ClonedVoice


def add(session: AsyncSession, voice: ClonedVoice) -> None:
    session.add(voice)


async def live(session: AsyncSession, organization_id: str) -> list[ClonedVoice]:
    """The organization's cloned voices, newest first."""
    rows = await session.scalars(
        select(ClonedVoice)
        .where(ClonedVoice.organization_id == organization_id, ClonedVoice.deleted_at.is_(None))
        .order_by(ClonedVoice.created_at.desc(), ClonedVoice.id)
    )
    return list(rows)


async def find(session: AsyncSession, provider: str, provider_voice_id: str) -> ClonedVoice | None:
    """The recorded clone with this vendor id, of any organization, deleted or not."""
    return await session.scalar(
        select(ClonedVoice).where(
            ClonedVoice.provider == provider, ClonedVoice.provider_voice_id == provider_voice_id
        )
    )


async def live_by_id(
    session: AsyncSession, organization_id: str, voice_id: str
) -> ClonedVoice | None:
    """A live clone of the organization by our id or by the vendor's id."""
    return await session.scalar(
        select(ClonedVoice)
        .where(
            ClonedVoice.organization_id == organization_id,
            ClonedVoice.deleted_at.is_(None),
            or_(ClonedVoice.id == voice_id, ClonedVoice.provider_voice_id == voice_id),
        )
        .order_by(ClonedVoice.created_at)
        .limit(1)
    )


async def recorded_ids(session: AsyncSession, provider: str) -> set[str]:
    """Every vendor id ever cloned through openrevox (any organization, deleted or not)."""
    rows = await session.scalars(
        select(ClonedVoice.provider_voice_id).where(ClonedVoice.provider == provider)
    )
    return set(rows)


async def live_assistants(session: AsyncSession, organization_id: str) -> list[Assistant]:
    """The organization's live (not archived) assistants, oldest first."""
    rows = await session.scalars(
        select(Assistant)
        .where(Assistant.organization_id == organization_id, Assistant.deleted_at.is_(None))
        .order_by(Assistant.created_at, Assistant.id)
    )
    return list(rows)


async def calls_speaking_with(
    session: AsyncSession,
    organization_id: str,
    voice_ids: Sequence[str],
    statuses: Sequence[str],
) -> int:
    """How many of the organization's calls in ``statuses`` have a snapshot whose
    ``voice.id`` is one of ``voice_ids`` (the snapshot is what a call speaks with)."""
    voice_id = Call.assistant_snapshot["voice"]["id"].as_string()
    count = await session.scalar(
        select(func.count())
        .select_from(Call)
        .where(
            Call.organization_id == organization_id,
            Call.status.in_(statuses),
            voice_id.in_(list(voice_ids)),
        )
    )
    return int(count or 0)
