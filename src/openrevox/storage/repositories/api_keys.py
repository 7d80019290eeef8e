"""API keys, looked up by the SHA-256 digest of the key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import ApiKey, Organization, User


async def add(
    session: AsyncSession, *, organization_id: str, user_id: str, key_hash: str, prefix: str
) -> ApiKey:
    key = ApiKey(organization_id=organization_id, user_id=user_id, key_hash=key_hash, prefix=prefix)
    session.add(key)
    await session.flush()
    return key


async def active_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )


async def listing(
    session: AsyncSession, organization_name: str | None = None
) -> list[tuple[ApiKey, Organization, User]]:
    query = (
        select(ApiKey, Organization, User)
        .join(Organization, Organization.id == ApiKey.organization_id)
        .join(User, User.id == ApiKey.user_id)
        .order_by(Organization.name, ApiKey.created_at)
    )
    if organization_name is not None:
        query = query.where(Organization.name == organization_name)
    return [(k, o, u) for k, o, u in (await session.execute(query)).tuples()]


async def by_id_or_prefix(session: AsyncSession, ident: str) -> list[ApiKey]:
    query = select(ApiKey).where((ApiKey.id == ident) | (ApiKey.prefix == ident))
    return list(await session.scalars(query))


async def revoke(key: ApiKey, when: datetime) -> None:
    key.revoked_at = when
