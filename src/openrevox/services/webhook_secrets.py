"""Each organization's webhook signing secret: made on first use, rotated on demand."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.errors import NotFound
from openrevox.notifications.webhooks import new_webhook_secret
from openrevox.storage.models import Organization


async def current_webhook_secret(session: AsyncSession, organization_id: str) -> str | None:
    """The organization's secret if it has one, read without a lock (any transaction).

    Every webhook try needs the secret; reading it this way keeps the tries from queueing
    on the organization's row lock (and, on SQLite, on the write lock). A secret rotated
    meanwhile is read by the next try, as before."""
    return await session.scalar(
        select(Organization.webhook_secret).where(Organization.id == organization_id)
    )


async def webhook_secret(
    session: AsyncSession, organization_id: str, *, rotate: bool = False
) -> str:
    """The organization's secret, created (or replaced, with ``rotate``) in the caller's
    write transaction; the row lock keeps two workers from minting two secrets."""
    organization = await session.scalar(
        select(Organization).where(Organization.id == organization_id).with_for_update()
    )
    if organization is None:
        raise NotFound(f"no organization with id {organization_id!r}")
    if organization.webhook_secret is None or rotate:
        organization.webhook_secret = new_webhook_secret()
        await session.flush()
    return organization.webhook_secret
