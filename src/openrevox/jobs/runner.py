"""The job runner: claims due jobs under a lease, runs them, logs each try, retries.

    runner = JobRunner(db, settings, kinds)
    await runner.run()           # until stop(); stop() lets running jobs finish

One runner per worker process (``openrevox worker``, or inside ``openrevox serve``);
several share one PostgreSQL. A job whose worker died is taken again when its lease
expires: deliveries are at least once, with the same job id (the webhook event id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import httpx

from openrevox.config import Settings
from openrevox.domain.backoff import retry_delay
from openrevox.jobs.kinds import JobContext, JobKind, JobStep
from openrevox.notifications.base import DeliveryError, DeliveryTry
from openrevox.storage.database import Database
from openrevox.storage.repositories import jobs as repo
from openrevox.storage.repositories.jobs import ClaimedJob

log = logging.getLogger(__name__)

ERROR_LIMIT = 2000  # characters of an error kept in the log


def system_now() -> datetime:
    return datetime.now(UTC)


class JobRunner:
    """One worker's job loop."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        kinds: Mapping[str, JobKind],
        *,
        worker_id: str,
        now: Callable[[], datetime] = system_now,
        jitter: Callable[[], float] = random.random,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.kinds = dict(kinds)
        self.settings = settings
        self.worker_id = worker_id
        self.lease = timedelta(seconds=settings.jobs_lease_secs)
        self._jitter = jitter
        self._own_http = http is None
        self.ctx = JobContext(
            db=db,
            settings=settings,
            http=http or httpx.AsyncClient(follow_redirects=False),
            worker_id=worker_id,
            now=now,
            wake=self.wake,
        )
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.finished_total = 0

    def wake(self) -> None:
        """Look for due jobs now (new ones were enqueued in this process)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming; ``run`` returns once the running jobs end."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        log.info("job runner %s started", self.worker_id)
        heartbeat = asyncio.create_task(self._heartbeat_loop())
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    claimed = await self.claim_once()
                except Exception:
                    log.exception("claiming jobs failed")
                    claimed = 0
                if claimed and self._free() > 0:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.jobs_poll_interval_secs)
        finally:
            if self._running:
                await asyncio.wait(set(self._running.values()))
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            if self._own_http:
                await self.ctx.http.aclose()
            log.info("job runner %s stopped", self.worker_id)

    def _free(self) -> int:
        return self.settings.jobs_max_concurrent - len(self._running)

    async def claim_once(self) -> int:
        """Claim due jobs up to the free slots and start them; returns how many."""
        free = self._free()
        if free <= 0:
            return 0
        now = self.ctx.now()
        async with self.ctx.db.write() as session:
            claimed = await repo.claim_due(
                session,
                worker_id=self.worker_id,
                now=now,
                lease_until=now + self.lease,
                limit=free,
            )
        for job in claimed:
            task = asyncio.create_task(self._run(job), name=f"job-{job.kind}-{job.id}")
            self._running[job.id] = task
        return len(claimed)

    async def run_until_idle(self, within: float = 30.0) -> None:
        """Tests and tools: run due jobs (and the jobs they enqueue) until none is due."""
        deadline = time.monotonic() + within
        while True:
            claimed = await self.claim_once()
            if self._running:
                await asyncio.wait(set(self._running.values()))
            elif not claimed:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("jobs still due after the timeout")

    async def _run(self, job: ClaimedJob) -> None:
        try:
            await self._run_one(job)
        except Exception:
            log.exception("recording job %s (%s) failed", job.id, job.kind)
        finally:
            self._running.pop(job.id, None)
            self.finished_total += 1
            self._wake.set()

    async def _run_one(self, job: ClaimedJob) -> None:
        kind = self.kinds.get(job.kind)
        started = self.ctx.now()
        clock = time.perf_counter()
        step: JobStep
        if kind is None:
            step = JobStep(
                DeliveryTry(ok=False, latency_ms=0, error=f"unknown job kind {job.kind!r}")
            )
        else:
            try:
                step = await kind.run(self.ctx, job)
            except DeliveryError as exc:
                step = JobStep(
                    DeliveryTry(
                        ok=False,
                        latency_ms=_ms(clock),
                        status_code=exc.answered,
                        error=exc.message,
                        retryable=exc.retryable,
                    )
                )
            except Exception as exc:
                log.warning("job %s (%s) try %d failed", job.id, job.kind, job.tries, exc_info=True)
                step = JobStep(DeliveryTry(ok=False, latency_ms=_ms(clock), error=_describe(exc)))
        await self._record(job, kind, step, started)

    async def _record(
        self, job: ClaimedJob, kind: JobKind | None, step: JobStep, started: datetime
    ) -> None:
        attempt = step.attempt
        now = self.ctx.now()
        error = attempt.error[:ERROR_LIMIT] if attempt.error else None
        async with self.ctx.db.write() as session:
            if attempt.ok:
                held = await repo.settle(
                    session,
                    job.id,
                    self.worker_id,
                    now=now,
                    status=repo.SUCCEEDED,
                    result=attempt.details or None,
                )
                if held and step.commit is not None:
                    await step.commit(session)
            else:
                retry_at = now + timedelta(
                    seconds=retry_delay(
                        job.tries,
                        base=self.settings.delivery_retry_base_seconds,
                        cap=self.settings.delivery_retry_max_seconds,
                        jitter=self._jitter(),
                    )
                )
                if (
                    attempt.retryable
                    and kind is not None
                    and retry_at <= job.give_up_at
                    and (kind.max_tries is None or job.tries < kind.max_tries)
                ):
                    held = await repo.settle(
                        session,
                        job.id,
                        self.worker_id,
                        now=now,
                        status=repo.PENDING,
                        run_at=retry_at,
                        error=error,
                        result=attempt.details or None,
                    )
                else:
                    held = await repo.settle(
                        session,
                        job.id,
                        self.worker_id,
                        now=now,
                        status=repo.FAILED,
                        error=error,
                        result=attempt.details or None,
                    )
                    if held and kind is not None:
                        await kind.gave_up(session, self.ctx, job, error)
            if held:
                await repo.record_try(
                    session,
                    job.id,
                    try_number=job.tries,
                    worker=self.worker_id,
                    started_at=started,
                    latency_ms=attempt.latency_ms,
                    ok=attempt.ok,
                    status_code=attempt.status_code,
                    error=error,
                )
        if not held:
            log.warning("job %s was taken by another worker; this try is not recorded", job.id)

    async def _heartbeat_loop(self) -> None:
        every = self.settings.jobs_lease_secs / 3
        while True:
            await asyncio.sleep(every)
            ids = list(self._running)
            if not ids:
                continue
            try:
                async with self.ctx.db.write() as session:
                    await repo.renew(session, self.worker_id, ids, self.ctx.now() + self.lease)
            except Exception:
                log.exception("renewing job leases failed")


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _describe(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if text != exc.__class__.__name__ else text
