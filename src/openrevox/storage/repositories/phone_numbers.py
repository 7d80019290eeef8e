"""Phone numbers of organizations, and what uses them as a caller id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import Assistant, Campaign, PhoneNumber


async def listing(session: AsyncSession, organization_id: str) -> list[PhoneNumber]:
    return list(
        await session.scalars(
            select(PhoneNumber)
            .where(PhoneNumber.organization_id == organization_id)
            .order_by(PhoneNumber.created_at, PhoneNumber.id)
        )
    )


async def get(
    session: AsyncSession, organization_id: str, number_id: str, *, for_update: bool = False
) -> PhoneNumber | None:
    query = select(PhoneNumber).where(
        PhoneNumber.id == number_id, PhoneNumber.organization_id == organization_id
    )
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def by_number(
    session: AsyncSession, organization_id: str, phone_number: str
) -> PhoneNumber | None:
    return await session.scalar(
        select(PhoneNumber).where(
            PhoneNumber.organization_id == organization_id,
            PhoneNumber.phone_number == phone_number,
        )
    )


async def inbound_routes(session: AsyncSession, phone_number: str) -> list[PhoneNumber]:
    """Every row of this number, in any organization, that names an inbound assistant."""
    return list(
        await session.scalars(
            select(PhoneNumber)
            .where(
                PhoneNumber.phone_number == phone_number,
                PhoneNumber.inbound_assistant_id.is_not(None),
            )
            .order_by(PhoneNumber.created_at, PhoneNumber.id)
        )
    )


def add(session: AsyncSession, number: PhoneNumber) -> None:
    session.add(number)


async def assistants_using(
    session: AsyncSession, organization_id: str, phone_number: str
) -> list[tuple[str, str]]:
    """(id, name) of the organization's live assistants calling from this number."""
    rows = await session.execute(
        select(Assistant.id, Assistant.name)
        .where(
            Assistant.organization_id == organization_id,
            Assistant.deleted_at.is_(None),
            Assistant.config["from_phone_number"].as_string() == phone_number,
        )
        .order_by(Assistant.created_at, Assistant.id)
    )
    return [(r[0], r[1]) for r in rows]


async def campaigns_using(
    session: AsyncSession, organization_id: str, phone_number: str
) -> list[tuple[str, str]]:
    """(id, name) of the organization's live campaigns calling from this number."""
    rows = await session.execute(
        select(Campaign.id, Campaign.name)
        .where(
            Campaign.organization_id == organization_id,
            Campaign.deleted_at.is_(None),
            Campaign.from_phone_number == phone_number,
        )
        .order_by(Campaign.created_at, Campaign.id)
    )
    return [(r[0], r[1]) for r in rows]
