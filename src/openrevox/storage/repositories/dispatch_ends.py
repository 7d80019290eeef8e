"""The common end of an attempt in one round trip (``finish_unchanged``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openrevox.storage.repositories.dispatch_leases import (
    LIVE_ATTEMPT_STATUSES,
    ClaimedCall,
    attempts,
    calls,
    campaigns_table,
    is_postgres,
)
from openrevox.storage.repositories.jobs import jobs


async def finish_unchanged(
    conn: AsyncConnection,
    claim: ClaimedCall,
    *,
    worker_id: str,
    order_values: Mapping[str, Any],
    attempt_values: Mapping[str, Any],
    job: Mapping[str, Any] | None,
) -> bool:
    """The hot path of an attempt's end: write the order's next state (``order_values``,
    computed from the order as claimed), end the attempt and enqueue ``job`` (a ``jobs``
    row), only if the order is untouched since the claim: this worker's lease,
    ``calling``, ``updated_at`` still the claim's (a cancel, pause or resume changes it),
    its campaign not cancelled. False (nothing written) otherwise: the caller then reads
    the order (``held_order``) and decides as usual.

    On PostgreSQL one statement (data-modifying CTEs), atomic by itself: run it on an
    autocommit connection, one round trip. On SQLite three statements: run it inside
    the write transaction.
    """
    c = calls.c
    camp = campaigns_table.c
    a = attempts.c
    order = (
        update(calls)
        .where(
            c.id == claim.call_id,
            c.claimed_by == worker_id,
            c.status == "calling",
            c.updated_at == claim.claimed_at,
            ~exists().where(camp.id == c.campaign_id, camp.cancelled_at.is_not(None)),
        )
        .values(**order_values)
        .returning(c.id)
    )
    started_at = attempt_values["started_at"]
    provider_call_id = attempt_values["provider_call_id"]
    ending = {
        **attempt_values,
        "started_at": func.coalesce(a.started_at, started_at),
        "provider_call_id": func.coalesce(a.provider_call_id, provider_call_id),
    }
    attempt = update(attempts).where(a.id == claim.attempt_id, a.status.in_(LIVE_ATTEMPT_STATUSES))
    if not is_postgres(conn):
        if (await conn.execute(order)).first() is None:
            return False
        await conn.execute(attempt.values(**ending))
        if job is not None:
            await conn.execute(jobs.insert().values(**job))
        return True
    held = order.cte("held")
    ended = attempt.where(exists(select(held.c.id))).values(**ending).cte("ended")
    query = select(func.count()).select_from(held).add_cte(ended)
    if job is not None:
        columns = list(job)
        row = select(*(literal(job[k], jobs.c[k].type) for k in columns)).select_from(held)
        query = query.add_cte(insert(jobs).from_select(columns, row).cte("job"))
    return bool(await conn.scalar(query))
