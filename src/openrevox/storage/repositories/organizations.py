"""Organizations and their users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import Organization, User


async def by_name(session: AsyncSession, name: str) -> Organization | None:
    return await session.scalar(select(Organization).where(Organization.name == name))


async def get(session: AsyncSession, organization_id: str) -> Organization | None:
    return await session.get(Organization, organization_id)


async def add(session: AsyncSession, name: str, country: str | None) -> Organization:
    organization = Organization(name=name, country=country)
    session.add(organization)
    await session.flush()
    return organization


async def user_by_email(session: AsyncSession, organization_id: str, email: str) -> User | None:
    return await session.scalar(
        select(User).where(User.organization_id == organization_id, User.email == email)
    )


async def get_user(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def add_user(session: AsyncSession, organization_id: str, email: str) -> User:
    user = User(organization_id=organization_id, email=email)
    session.add(user)
    await session.flush()
    return user
