"""Cloned voices, scoped to one organization, and the assistants that use a voice."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import Assistant, ClonedVoice


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
