"""Durable jobs: enqueue, claim under a lease, finish, retry, give up, and the try log.

Claiming follows the dispatcher: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and on SQLite
the write transaction (``BEGIN IMMEDIATE``) makes select-then-update atomic. Every state
change after a claim is conditional on this worker still holding the job, so a worker
whose lease expired (and whose job another worker took) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import Job, JobTry, new_id

jobs = cast(Table, Job.__table__)
job_tries = cast(Table, JobTry.__table__)

PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    organization_id: str
    call_id: str | None
    kind: str
    payload: dict[str, Any]
    tries: int  # including this one
    give_up_at: datetime
    result: dict[str, Any] | None  # what an earlier try left (a resumable delivery)


@dataclass(frozen=True)
class JobView:
    """A job and its state, for the CLI and tests."""

    id: str
    organization_id: str
    call_id: str | None
    kind: str
    payload: dict[str, Any]
    status: str
    tries: int
    run_at: datetime
    last_error: str | None
    result: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class TryView:
    try_number: int
    started_at: datetime
    latency_ms: float
    ok: bool
    status_code: int | None
    error: str | None
    worker: str | None


def job_row(
    *,
    organization_id: str,
    call_id: str | None,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    give_up_at: datetime,
    job_id: str | None = None,
    run_at: datetime | None = None,
) -> dict[str, Any]:
    """A new ``jobs`` row, due now or at ``run_at``: what ``enqueue`` inserts, and what a
    caller inserting it in its own statement uses (the dispatcher's end of an attempt)."""
    return {
        "id": job_id or new_id(),
        "organization_id": organization_id,
        "call_id": call_id,
        "kind": kind,
        "payload": payload,
        "status": PENDING,
        "tries": 0,
        "run_at": run_at or now,
        "give_up_at": give_up_at,
        "created_at": now,
        "updated_at": now,
    }


async def enqueue(
    session: AsyncSession,
    *,
    organization_id: str,
    call_id: str | None,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    give_up_at: datetime,
    job_id: str | None = None,
    run_at: datetime | None = None,
) -> str:
    """Add a job (``job_row``), due now or at ``run_at``; it commits with the caller's
    transaction."""
    row = job_row(
        organization_id=organization_id,
        call_id=call_id,
        kind=kind,
        payload=payload,
        now=now,
        give_up_at=give_up_at,
        job_id=job_id,
        run_at=run_at,
    )
    await session.execute(jobs.insert().values(**row))
    return str(row["id"])


async def claim_due(
    session: AsyncSession, *, worker_id: str, now: datetime, lease_until: datetime, limit: int
) -> list[ClaimedJob]:
    """Take up to ``limit`` due jobs (pending and due, or running with an expired lease)."""
    if limit <= 0:
        return []
    j = jobs.c
    due = or_(
        (j.status == PENDING) & (j.run_at <= now),
        (j.status == RUNNING) & (j.lease_expires_at < now),
    )
    query = select(j.id).where(due).order_by(j.run_at, j.id).limit(limit)
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [row[0] for row in (await session.execute(query)).all()]
    if not ids:
        return []
    rows = (
        await session.execute(
            update(jobs)
            .where(j.id.in_(ids), due)
            .values(
                status=RUNNING,
                claimed_by=worker_id,
                lease_expires_at=lease_until,
                tries=j.tries + 1,
                updated_at=now,
            )
            .returning(
                j.id,
                j.organization_id,
                j.call_id,
                j.kind,
                j.payload,
                j.tries,
                j.give_up_at,
                j.result,
            )
        )
    ).all()
    return [ClaimedJob(*row) for row in rows]


async def renew(
    session: AsyncSession, worker_id: str, job_ids: Sequence[str], lease_until: datetime
) -> set[str]:
    """Extend this worker's leases; returns the ids it still holds."""
    if not job_ids:
        return set()
    j = jobs.c
    rows = await session.execute(
        update(jobs)
        .where(j.id.in_(job_ids), j.claimed_by == worker_id, j.status == RUNNING)
        .values(lease_expires_at=lease_until)
        .returning(j.id)
    )
    return {row[0] for row in rows}


async def settle(
    session: AsyncSession,
    job_id: str,
    worker_id: str,
    *,
    now: datetime,
    status: str,
    run_at: datetime | None = None,
    error: str | None = None,
    result: dict[str, Any] | None = None,
) -> bool:
    """End this worker's hold on a job: succeeded, failed, or pending again at ``run_at``.

    False when the worker no longer holds the job (its lease expired and it was taken).
    """
    j = jobs.c
    values: dict[str, Any] = {
        "status": status,
        "claimed_by": None,
        "lease_expires_at": None,
        "last_error": error,
        "updated_at": now,
    }
    if result is not None:
        values["result"] = result
    if status == PENDING:
        values["run_at"] = run_at or now
    else:
        values["finished_at"] = now
    rows = await session.execute(
        update(jobs)
        .where(j.id == job_id, j.claimed_by == worker_id, j.status == RUNNING)
        .values(**values)
        .returning(j.id)
    )
    return rows.first() is not None


async def record_try(
    session: AsyncSession,
    job_id: str,
    *,
    try_number: int,
    worker: str,
    started_at: datetime,
    latency_ms: float,
    ok: bool,
    status_code: int | None,
    error: str | None,
) -> None:
    await session.execute(
        job_tries.insert().values(
            id=new_id(),
            job_id=job_id,
            try_number=try_number,
            worker=worker,
            started_at=started_at,
            latency_ms=latency_ms,
            ok=ok,
            status_code=status_code,
            error=error,
        )
    )


async def replay(
    session: AsyncSession, job_id: str, *, now: datetime, give_up_at: datetime
) -> JobView | None:
    """Run a finished job again (same id: a webhook keeps its event id); None if unknown.

    A job still pending or running is left as it is and returned.
    """
    j = jobs.c
    await session.execute(
        update(jobs)
        .where(j.id == job_id, j.status.in_((SUCCEEDED, FAILED)))
        .values(
            status=PENDING,
            run_at=now,
            give_up_at=give_up_at,
            finished_at=None,
            updated_at=now,
        )
    )
    return await get(session, job_id)


def _view(row: Any) -> JobView:
    return JobView(
        id=row.id,
        organization_id=row.organization_id,
        call_id=row.call_id,
        kind=row.kind,
        payload=row.payload,
        status=row.status,
        tries=row.tries,
        run_at=row.run_at,
        last_error=row.last_error,
        result=row.result,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


async def get(session: AsyncSession, job_id: str) -> JobView | None:
    row = await session.get(Job, job_id)
    return _view(row) if row is not None else None


async def list_jobs(
    session: AsyncSession,
    *,
    organization_id: str | None = None,
    call_id: str | None = None,
    kinds: Sequence[str] | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[JobView]:
    """Newest first."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if organization_id is not None:
        query = query.where(Job.organization_id == organization_id)
    if call_id is not None:
        query = query.where(Job.call_id == call_id)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    if status is not None:
        query = query.where(Job.status == status)
    return [_view(row) for row in (await session.scalars(query)).all()]


async def tries_of(session: AsyncSession, job_id: str) -> list[TryView]:
    t = job_tries.c
    rows = await session.execute(
        select(t.try_number, t.started_at, t.latency_ms, t.ok, t.status_code, t.error, t.worker)
        .where(t.job_id == job_id)
        .order_by(t.started_at, t.try_number)
    )
    return [TryView(*row) for row in rows.all()]


async def count_unfinished(session: AsyncSession) -> int:
    j = jobs.c
    query = select(func.count()).select_from(jobs).where(j.status.in_((PENDING, RUNNING)))
    return int((await session.execute(query)).scalar_one())
