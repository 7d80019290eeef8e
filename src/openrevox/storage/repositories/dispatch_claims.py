"""Claiming due orders: admission reads (due rows, active counts, campaign limits,
key limits), the waiting reason of the orders left, and the claim with its attempts.

On PostgreSQL due rows are read with ``FOR UPDATE SKIP LOCKED`` and an organization's
admissions are serialised by a transaction-level advisory lock; on SQLite the write
transaction (``BEGIN IMMEDIATE``) serialises claims. The claim is a conditional update
either way, so a row claimed meanwhile is never claimed twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, func, insert, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from openrevox.storage.models import Campaign, ConcurrencyLimit, new_id
from openrevox.storage.repositories.dispatch_leases import (
    DUE_STATUSES,
    ClaimedCall,
    DueCall,
    attempts,
    calls,
    connection,
    is_postgres,
)


async def due_calls(
    session: AsyncSession, now: datetime, limit: int, *, skip_campaigns: Sequence[str] = ()
) -> list[DueCall]:
    """Due orders, oldest first; on PostgreSQL locked (``SKIP LOCKED``) for this claim.

    Campaigns at their limit (``saturated_campaigns``, read in the same statement) and
    ``skip_campaigns`` are left out, so that their waiting calls do not fill the batch
    ahead of calls that could start."""
    conn = await connection(session)
    c = calls.c
    query = (
        select(c.id, c.organization_id, c.concurrency_key, c.status, c.status_reason, c.campaign_id)
        .where(
            c.status.in_(DUE_STATUSES),
            c.next_attempt_at <= now,
            c.claimed_by.is_(None),
            or_(c.campaign_id.is_(None), c.campaign_id.not_in(_saturated())),
        )
        .order_by(c.next_attempt_at, c.id)
        .limit(limit)
    )
    if skip_campaigns:
        query = query.where(
            or_(c.campaign_id.is_(None), c.campaign_id.not_in(list(skip_campaigns)))
        )
    if is_postgres(conn):
        query = query.with_for_update(skip_locked=True)
    rows = (await conn.execute(query)).all()
    return [DueCall(*row) for row in rows]


async def lock_organizations(session: AsyncSession, organization_ids: Iterable[str]) -> None:
    """PostgreSQL: serialise admissions per organization until the transaction ends."""
    conn = await connection(session)
    if not is_postgres(conn):
        return
    for org in sorted(set(organization_ids)):
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"openrevox.dispatch:{org}"},
        )


async def active_counts(
    session: AsyncSession, organization_ids: Iterable[str]
) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Active calls (orders holding a lease) per organization and per (organization, key)."""
    orgs = sorted(set(organization_ids))
    if not orgs:
        return {}, {}
    conn = await connection(session)
    c = calls.c
    rows = (
        await conn.execute(
            select(c.organization_id, c.concurrency_key, func.count())
            .where(c.organization_id.in_(orgs), c.lease_expires_at.is_not(None))
            .group_by(c.organization_id, c.concurrency_key)
        )
    ).all()
    per_org: dict[str, int] = {}
    per_key: dict[tuple[str, str], int] = {}
    for org, key, n in rows:
        per_org[org] = per_org.get(org, 0) + n
        if key is not None:
            per_key[(org, key)] = per_key.get((org, key), 0) + n
    return per_org, per_key


async def campaign_usage(
    session: AsyncSession, campaign_ids: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """Campaigns with a ``max_concurrent_calls``: (active calls, limit) each. An active
    call holds a lease, as for the organization's count; campaigns without a limit are
    left out (unlimited within the organization's limit)."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    conn = await connection(session)
    camp = cast(Table, Campaign.__table__).c
    limits = {
        campaign_id: int(limit)
        for campaign_id, limit in (
            await conn.execute(
                select(camp.id, camp.max_concurrent_calls).where(
                    camp.id.in_(ids), camp.max_concurrent_calls.is_not(None)
                )
            )
        ).all()
    }
    if not limits:
        return {}
    c = calls.c
    rows = await conn.execute(
        select(c.campaign_id, func.count())
        .where(c.campaign_id.in_(sorted(limits)), c.lease_expires_at.is_not(None))
        .group_by(c.campaign_id)
    )
    active: dict[str, int] = {campaign_id: int(n) for campaign_id, n in rows.all()}
    return {
        campaign_id: (active.get(campaign_id, 0), limit) for campaign_id, limit in limits.items()
    }


def _saturated() -> Select[tuple[str]]:
    """The ids of campaigns whose active calls (holding a lease) reach their
    ``max_concurrent_calls``."""
    camp = cast(Table, Campaign.__table__).c
    c = calls.c
    active = (
        select(func.count())
        .where(c.campaign_id == camp.id, c.lease_expires_at.is_not(None))
        .scalar_subquery()
    )
    return select(camp.id).where(
        camp.max_concurrent_calls.is_not(None),
        camp.deleted_at.is_(None),
        camp.launched_at.is_not(None),
        active >= camp.max_concurrent_calls,
    )


async def saturated_campaigns(session: AsyncSession) -> list[str]:
    """Campaigns whose active calls (holding a lease) reach their ``max_concurrent_calls``."""
    conn = await connection(session)
    rows = await conn.execute(_saturated())
    return [str(row[0]) for row in rows.all()]


async def key_limits(session: AsyncSession) -> dict[str, int]:
    """The concurrency-key limits set with ``openrevox concurrency set``."""
    rows = (await session.execute(select(ConcurrencyLimit.key, ConcurrencyLimit.limit))).all()
    return {key: limit for key, limit in rows}


async def set_key_limit(session: AsyncSession, key: str, limit: int, now: datetime) -> None:
    row = await session.get(ConcurrencyLimit, key)
    if row is None:
        session.add(ConcurrencyLimit(key=key, limit=limit, updated_at=now))
    else:
        row.limit = limit
        row.updated_at = now
    await session.flush()


async def clear_key_limit(session: AsyncSession, key: str) -> bool:
    row = await session.get(ConcurrencyLimit, key)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True


async def mark_waiting(session: AsyncSession, waiting: Mapping[str, str], now: datetime) -> None:
    """Due orders blocked by a limit: ``queued_for_calling`` with the reason."""
    by_reason: dict[str, list[str]] = {}
    for call_id, reason in waiting.items():
        by_reason.setdefault(reason, []).append(call_id)
    conn = await connection(session)
    c = calls.c
    for reason, ids in by_reason.items():
        await conn.execute(
            update(calls)
            .where(c.id.in_(ids), c.status.in_(DUE_STATUSES), c.claimed_by.is_(None))
            .values(status="queued_for_calling", status_reason=reason, updated_at=now)
        )


async def claim(
    session: AsyncSession,
    call_ids: Sequence[str],
    *,
    worker_id: str,
    now: datetime,
    lease_until: datetime,
    provider: str,
) -> list[ClaimedCall]:
    """Take due orders: ``calling`` under this worker's lease, each with a new attempt.

    The update is conditional: an order claimed, cancelled or paused meanwhile is left.
    """
    if not call_ids:
        return []
    conn = await connection(session)
    c = calls.c
    taken = (
        update(calls)
        .where(
            c.id.in_(call_ids),
            c.status.in_(DUE_STATUSES),
            c.next_attempt_at <= now,
            c.claimed_by.is_(None),
        )
        .values(
            status="calling",
            status_reason=None,
            claimed_by=worker_id,
            lease_expires_at=lease_until,
            calls_count=c.calls_count + 1,
            updated_at=now,
        )
        .returning(
            c.id,
            c.organization_id,
            c.to_phone_number,
            c.from_phone_number,
            c.assistant_snapshot,
            c.prompt_variables,
            c.calls_count,
            c.skip_calling_window,
        )
    )
    if is_postgres(conn):
        return await _claim_with_attempts(conn, taken, now=now, provider=provider)
    rows = (await conn.execute(taken)).all()
    claimed: list[ClaimedCall] = []
    new_attempts: list[dict[str, Any]] = []
    for call_id, org, to_number, from_number, snapshot, variables, count, skip in rows:
        from_number = from_number or snapshot.get("from_phone_number")
        attempt_id = new_id()
        new_attempts.append(
            {
                "id": attempt_id,
                "call_id": call_id,
                "attempt_number": count,
                "status": "queued",
                "phone_number": to_number,
                "from_phone_number": from_number,
                "provider": provider,
                "handled_by_ai": True,
                "handled_by_human": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        claimed.append(
            ClaimedCall(
                call_id=call_id,
                attempt_id=attempt_id,
                attempt_number=count,
                organization_id=org,
                to_number=to_number,
                from_number=from_number,
                assistant=dict(snapshot),
                prompt_variables=dict(variables or {}),
                claimed_at=now,
                to_skip_calling_window=bool(skip),
            )
        )
    if new_attempts:
        await conn.execute(attempts.insert(), new_attempts)
    return claimed


async def _claim_with_attempts(
    conn: AsyncConnection, taken: Any, *, now: datetime, provider: str
) -> list[ClaimedCall]:
    """PostgreSQL: the claim and its attempts' insert in one statement (one round trip
    under the organization's lock): the attempts are made from the claimed rows."""
    claimed = taken.cte("claimed")
    k = claimed.c
    a = attempts.c
    from_number = func.coalesce(
        func.nullif(k.from_phone_number, ""), k.assistant_snapshot["from_phone_number"].as_string()
    )
    made = (
        insert(attempts)
        .from_select(
            [
                a.id,
                a.call_id,
                a.attempt_number,
                a.status,
                a.phone_number,
                a.from_phone_number,
                a.provider,
                a.handled_by_ai,
                a.handled_by_human,
                a.created_at,
                a.updated_at,
            ],
            select(
                func.gen_random_uuid().cast(a.id.type),
                k.id,
                k.calls_count,
                literal("queued", a.status.type),
                k.to_phone_number,
                from_number,
                literal(provider, a.provider.type),
                literal(True, a.handled_by_ai.type),
                literal(False, a.handled_by_human.type),
                literal(now, a.created_at.type),
                literal(now, a.updated_at.type),
            ).select_from(claimed),
        )
        .returning(a.id, a.call_id, a.from_phone_number)
        .cte("made")
    )
    rows = (
        await conn.execute(
            select(
                k.id,
                made.c.id,
                k.calls_count,
                k.organization_id,
                k.to_phone_number,
                made.c.from_phone_number,
                k.assistant_snapshot,
                k.prompt_variables,
                k.skip_calling_window,
            ).join_from(claimed, made, made.c.call_id == k.id)
        )
    ).all()
    return [
        ClaimedCall(
            call_id=call_id,
            attempt_id=attempt_id,
            attempt_number=count,
            organization_id=org,
            to_number=to_number,
            from_number=from_number,
            assistant=dict(snapshot),
            prompt_variables=dict(variables or {}),
            claimed_at=now,
            to_skip_calling_window=bool(skip),
        )
        for call_id, attempt_id, count, org, to_number, from_number, snapshot, variables, skip in (
            rows
        )
    ]
