"""Orders held under a lease: the claim's rows, renewal, attempt writes, recovery.

The shared part of the dispatcher's queries (``dispatch`` re-exports them): the tables,
the claimed and held order, and the queries on an order a worker holds or lost. Every
function runs on the caller's write transaction, with Core statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from openrevox.storage.models import Call, CallAttempt, Campaign

DUE_STATUSES = ("scheduled", "queued_for_calling")
LIVE_ATTEMPT_STATUSES = ("queued", "ringing", "ongoing")

calls = cast(Table, Call.__table__)
attempts = cast(Table, CallAttempt.__table__)
RETRY_CONFIG = calls.c.assistant_snapshot["call_retry_config"]
campaigns_table = cast(Table, Campaign.__table__)


@dataclass(frozen=True)
class ClaimedCall:
    """A call order claimed by a worker, with the attempt created for it."""

    call_id: str
    attempt_id: str
    attempt_number: int
    organization_id: str
    to_number: str
    from_number: str | None
    assistant: dict[str, Any]
    prompt_variables: dict[str, str]
    # The order as the claim left it, for ``finish_unchanged`` (HeldOrder's fields).
    claimed_at: datetime | None = None
    to_skip_calling_window: bool = False

    def held(self) -> HeldOrder:
        """The order as claimed (``calling``, this attempt's ``calls_count``); valid for
        the retry policy as long as the row is unchanged since (``finish_unchanged``)."""
        return HeldOrder(
            id=self.call_id,
            status="calling",
            calls_count=self.attempt_number,
            to_phone_number=self.to_number,
            skip_calling_window=self.to_skip_calling_window,
            retry_config=self.assistant.get("call_retry_config"),
            organization_id=self.organization_id,
        )


@dataclass(frozen=True)
class HeldOrder:
    """What the retry policy reads of an order whose attempt ended."""

    id: str
    status: str
    calls_count: int
    to_phone_number: str
    skip_calling_window: bool
    retry_config: Any
    organization_id: str
    # Its campaign was cancelled (or deleted): the attempt may finish, no retry follows.
    campaign_cancelled: bool = False


@dataclass(frozen=True)
class DueCall:
    """A due order considered for admission."""

    id: str
    organization_id: str
    concurrency_key: str | None
    status: str
    status_reason: str | None
    campaign_id: str | None = None


async def connection(session: AsyncSession) -> AsyncConnection:
    return await session.connection()


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


async def renew(
    session: AsyncSession, worker_id: str, call_ids: Sequence[str], lease_until: datetime
) -> dict[str, str | None]:
    """Extend this worker's leases; returns each order's status, None when the lease is lost."""
    if not call_ids:
        return {}
    conn = await connection(session)
    c = calls.c
    await conn.execute(
        update(calls)
        .where(c.id.in_(call_ids), c.claimed_by == worker_id)
        .values(lease_expires_at=lease_until)
    )
    rows = (
        await conn.execute(select(c.id, c.status, c.claimed_by).where(c.id.in_(call_ids)))
    ).all()
    seen = {row[0]: (row[1] if row[2] == worker_id else None) for row in rows}
    return {call_id: seen.get(call_id) for call_id in call_ids}


async def update_attempt(session: AsyncSession, attempt_id: str, **values: Any) -> None:
    """Write a live attempt's columns (an ended attempt is never rewritten)."""
    conn = await connection(session)
    a = attempts.c
    await conn.execute(
        update(attempts)
        .where(a.id == attempt_id, a.status.in_(LIVE_ATTEMPT_STATUSES))
        .values(**values)
    )


async def end_attempt(
    session: AsyncSession,
    attempt_id: str,
    *,
    started_at: datetime,
    provider_call_id: str | None,
    **values: Any,
) -> None:
    """Record how a live attempt ended (keeping the start and call id progress wrote)."""
    a = attempts.c
    await update_attempt(
        session,
        attempt_id,
        started_at=func.coalesce(a.started_at, started_at),
        provider_call_id=func.coalesce(a.provider_call_id, provider_call_id),
        **values,
    )


HELD_COLUMNS = (
    calls.c.id,
    calls.c.status,
    calls.c.calls_count,
    calls.c.to_phone_number,
    calls.c.skip_calling_window,
    RETRY_CONFIG,
    calls.c.organization_id,
    exists()
    .where(campaigns_table.c.id == calls.c.campaign_id, campaigns_table.c.cancelled_at.is_not(None))
    .label("campaign_cancelled"),
)


async def held_order(session: AsyncSession, call_id: str, worker_id: str) -> HeldOrder | None:
    """The order, locked, if this worker still holds its lease."""
    conn = await connection(session)
    query = select(*HELD_COLUMNS).where(calls.c.id == call_id, calls.c.claimed_by == worker_id)
    if is_postgres(conn):
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return None if row is None else HeldOrder(*row)


async def update_order(session: AsyncSession, call_id: str, values: Mapping[str, Any]) -> None:
    conn = await connection(session)
    await conn.execute(update(calls).where(calls.c.id == call_id).values(**values))


async def expired_orders(session: AsyncSession, now: datetime, limit: int) -> list[HeldOrder]:
    """Orders whose worker stopped renewing its lease (locked, skipping others' claims)."""
    conn = await connection(session)
    query = (
        select(*HELD_COLUMNS)
        .where(calls.c.lease_expires_at < now)
        .order_by(calls.c.lease_expires_at)
        .limit(limit)
    )
    if is_postgres(conn):
        query = query.with_for_update(skip_locked=True)
    return [HeldOrder(*row) for row in (await conn.execute(query)).all()]


async def end_live_attempts(
    session: AsyncSession, call_id: str, now: datetime, end_reason: str
) -> tuple[datetime | None, str | None]:
    """End the order's live attempt in error; its start and result, if there was one."""
    conn = await connection(session)
    a = attempts.c
    row = (
        await conn.execute(
            update(attempts)
            .where(a.call_id == call_id, a.status.in_(LIVE_ATTEMPT_STATUSES))
            .values(
                status="error",
                ended_by="system",
                end_reason=end_reason,
                ended_at=now,
                updated_at=now,
            )
            .returning(func.coalesce(a.started_at, a.created_at), a.result)
        )
    ).first()
    return (None, None) if row is None else (row[0], row[1])
