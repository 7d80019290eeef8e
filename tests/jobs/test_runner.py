"""The durable job runner on SQLite and PostgreSQL: retries with backoff, give-up,
leases taken over from a dead worker, and several runners sharing one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.config import Settings
from openrevox.jobs import JobContext, JobRunner, JobStep
from openrevox.notifications.base import DeliveryError, DeliveryTry
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.storage.models import Organization, new_id
from openrevox.storage.repositories import jobs as repo
from openrevox.storage.repositories.jobs import ClaimedJob


@dataclass
class Scripted:
    """A job kind whose tries follow a script: an exception, a failed try, or success."""

    name: str = "scripted"
    max_tries: int | None = None
    window: timedelta = timedelta(hours=1)
    script: list[Any] = field(default_factory=list)
    runs: list[tuple[str, int]] = field(default_factory=list)
    given_up: list[tuple[str, str | None]] = field(default_factory=list)
    delay: float = 0.0

    def give_up_after(self, settings: Settings) -> timedelta:
        return self.window

    async def run(self, ctx: JobContext, job: ClaimedJob) -> JobStep:
        self.runs.append((job.id, job.tries))
        if self.delay:
            await asyncio.sleep(self.delay)
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, Exception):
            raise step
        if step == "ok":

            async def commit(session: AsyncSession) -> None:
                await session.execute(
                    update(Organization)
                    .where(Organization.id == job.organization_id)
                    .values(name=f"done-{job.id}")
                )

            return JobStep(DeliveryTry(ok=True, latency_ms=1.0, details={"n": job.tries}), commit)
        return JobStep(DeliveryTry(ok=False, latency_ms=2.0, status_code=503, error=step))

    async def gave_up(
        self, session: AsyncSession, ctx: JobContext, job: ClaimedJob, error: str | None
    ) -> None:
        self.given_up.append((job.id, error))


class Clock:
    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await upgrade_async(database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


def settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "delivery_retry_base_seconds": 10,
        "delivery_retry_max_seconds": 3600,
        "jobs_lease_secs": 30,
        "jobs_poll_interval_secs": 0.02,
    }
    values.update(overrides)
    return Settings(**values)


async def add_job(
    db: Database, clock: Clock, kind: str = "scripted", org: str | None = None
) -> str:
    async with db.write() as session:
        if org is None:
            org = new_id()
            session.add(Organization(id=org, name=f"org-{org}"))
            await session.flush()
        return await repo.enqueue(
            session,
            organization_id=org,
            call_id=None,
            kind=kind,
            payload={"hello": "world"},
            now=clock(),
            give_up_at=clock() + timedelta(hours=1),
        )


async def job(db: Database, job_id: str) -> repo.JobView:
    async with db.read() as session:
        view = await repo.get(session, job_id)
        assert view is not None
        return view


async def tries(db: Database, job_id: str) -> list[repo.TryView]:
    async with db.read() as session:
        return await repo.tries_of(session, job_id)


async def test_a_failing_job_is_retried_with_backoff_then_succeeds(
    db: Database, database_url: str
) -> None:
    clock = Clock()
    kind = Scripted(script=["HTTP 503", DeliveryError("timed out"), "ok"])
    runner = JobRunner(
        db, settings(database_url), {kind.name: kind}, worker_id="w1", now=clock, jitter=lambda: 0.5
    )
    job_id = await add_job(db, clock)

    await runner.run_until_idle()
    first = await job(db, job_id)
    assert (first.status, first.tries, first.last_error) == ("pending", 1, "HTTP 503")
    # 10 s base, jitter 0.5 -> 7.5 s; not due before.
    assert first.run_at == clock() + timedelta(seconds=7.5)
    clock.at += timedelta(seconds=7)
    await runner.run_until_idle()
    assert (await job(db, job_id)).tries == 1

    clock.at += timedelta(seconds=1)
    await runner.run_until_idle()
    second = await job(db, job_id)
    assert (second.status, second.tries, second.last_error) == ("pending", 2, "timed out")
    assert second.run_at == clock() + timedelta(seconds=15)  # doubled

    clock.at += timedelta(seconds=15)
    await runner.run_until_idle()
    done = await job(db, job_id)
    assert (done.status, done.tries, done.last_error, done.result) == (
        "succeeded",
        3,
        None,
        {"n": 3},
    )
    assert done.finished_at == clock()
    assert [r[0] for r in kind.runs] == [job_id] * 3  # one id on every try
    log = await tries(db, job_id)
    assert [(t.try_number, t.ok, t.status_code, t.error) for t in log] == [
        (1, False, 503, "HTTP 503"),
        (2, False, None, "timed out"),
        (3, True, None, None),
    ]
    async with db.read() as session:
        names = (await session.execute(select(Organization.name))).scalars().all()
    assert names == [f"done-{job_id}"]  # the commit ran with the success


async def test_a_permanent_failure_gives_up_at_once(db: Database, database_url: str) -> None:
    clock = Clock()
    kind = Scripted(script=[DeliveryError("invalid_auth", retryable=False, answered=401)])
    runner = JobRunner(db, settings(database_url), {kind.name: kind}, worker_id="w1", now=clock)
    job_id = await add_job(db, clock)
    await runner.run_until_idle()
    view = await job(db, job_id)
    assert (view.status, view.tries, view.last_error) == ("failed", 1, "invalid_auth")
    assert kind.given_up == [(job_id, "invalid_auth")]
    assert [(t.status_code, t.ok) for t in await tries(db, job_id)] == [(401, False)]


async def test_tries_stop_at_the_limit_and_at_the_window(db: Database, database_url: str) -> None:
    clock = Clock()
    kind = Scripted(max_tries=2, script=[RuntimeError("boom"), RuntimeError("boom again")])
    runner = JobRunner(db, settings(database_url), {kind.name: kind}, worker_id="w1", now=clock)
    job_id = await add_job(db, clock)
    await runner.run_until_idle()
    clock.at += timedelta(minutes=1)
    await runner.run_until_idle()
    view = await job(db, job_id)
    assert (view.status, view.tries) == ("failed", 2)
    assert view.last_error == "RuntimeError: boom again"
    assert kind.given_up == [(job_id, "RuntimeError: boom again")]

    # The window: a retry that would fall after give_up_at is not planned.
    windowed = Scripted(name="windowed", script=["down"] * 100)
    runner = JobRunner(
        db,
        settings(database_url, delivery_retry_base_seconds=1200),
        {windowed.name: windowed},
        worker_id="w1",
        now=clock,
        jitter=lambda: 0.99,
    )
    other = await add_job(db, clock, kind="windowed")
    for _ in range(10):
        await runner.run_until_idle()
        clock.at += timedelta(hours=1)
    view = await job(db, other)
    assert view.status == "failed"
    assert view.tries == 2  # ~20 min then ~40 min: the third would pass the 1 h window


async def test_a_dead_workers_job_is_taken_over_when_its_lease_expires(
    db: Database, database_url: str
) -> None:
    clock = Clock()
    kind = Scripted()
    job_id = await add_job(db, clock)
    async with db.write() as session:  # worker "dead" claims it, then dies
        claimed = await repo.claim_due(
            session,
            worker_id="dead",
            now=clock(),
            lease_until=clock() + timedelta(seconds=30),
            limit=5,
        )
    assert [c.id for c in claimed] == [job_id]
    runner = JobRunner(db, settings(database_url), {kind.name: kind}, worker_id="alive", now=clock)
    await runner.run_until_idle()
    assert kind.runs == []  # still leased
    clock.at += timedelta(seconds=31)
    await runner.run_until_idle()
    view = await job(db, job_id)
    assert (view.status, view.tries) == ("succeeded", 2)
    assert kind.runs == [(job_id, 2)]
    # The dead worker coming back changes nothing.
    async with db.write() as session:
        assert not await repo.settle(session, job_id, "dead", now=clock(), status="failed")
    assert (await job(db, job_id)).status == "succeeded"


async def test_unknown_kinds_fail_with_a_clear_error(db: Database, database_url: str) -> None:
    clock = Clock()
    runner = JobRunner(db, settings(database_url), {}, worker_id="w1", now=clock)
    job_id = await add_job(db, clock, kind="mystery")
    await runner.run_until_idle()
    view = await job(db, job_id)
    assert (view.status, view.last_error) == ("failed", "unknown job kind 'mystery'")


async def test_runners_sharing_a_database_run_each_job_once(
    db: Database, database_url: str
) -> None:
    clock = Clock()
    kind = Scripted(delay=0.01)
    async with db.write() as session:
        org = new_id()
        session.add(Organization(id=org, name="shared"))
    ids = [await add_job(db, clock, org=org) for _ in range(60)]
    others = [Database(database_url) for _ in range(2)]
    try:
        runners = [
            JobRunner(
                d,
                settings(database_url, jobs_max_concurrent=4),
                {kind.name: kind},
                worker_id=f"w{i}",
                now=clock,
            )
            for i, d in enumerate([db, *others])
        ]
        await asyncio.gather(*(r.run_until_idle() for r in runners))
    finally:
        for d in others:
            await d.dispose()
    assert sorted(r[0] for r in kind.runs) == sorted(ids)  # each exactly once
    async with db.read() as session:
        views = await repo.list_jobs(session, organization_id=org, limit=100)
    assert {v.status for v in views} == {"succeeded"}
    assert all(v.tries == 1 for v in views)


async def test_run_loop_wakes_and_stops(db: Database, database_url: str) -> None:
    kind = Scripted()
    runner = JobRunner(
        db, settings(database_url, jobs_poll_interval_secs=30), {kind.name: kind}, worker_id="w1"
    )
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(0.1)
    job_id = await add_job(db, Clock(datetime.now(UTC) - timedelta(seconds=1)))
    runner.wake()  # without it the next look is 30 s away
    for _ in range(100):
        if kind.runs:
            break
        await asyncio.sleep(0.02)
    runner.stop()
    await asyncio.wait_for(task, 5)
    assert kind.runs == [(job_id, 1)]
