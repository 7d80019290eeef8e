"""The dispatcher: claims due call orders under a lease, dials them, records the end.

    dispatcher = Dispatcher(db, settings, provider)
    await dispatcher.run()          # until stop(); stop() drains then releases

One loop per worker process (``openrevox worker``, or inside ``openrevox serve``).
Each claimed order runs as a task: attempt ``queued`` -> ``ringing`` -> ``ongoing`` ->
``completed`` / ``error``; a heartbeat renews the leases of the running calls and hangs
up those whose order was cancelled (or whose lease was lost). Orders whose worker died
are recovered when their lease expires (docs/dispatcher.md). Progress writes live in
``progress``, the end of an attempt in ``finishing``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.config import Settings
from openrevox.domain.scheduling import Candidate, Usage, plan_admissions
from openrevox.domain.scheduling.retry import AttemptResult
from openrevox.providers.telephony.base import (
    AttemptOutcome,
    DialRequest,
    TelephonyProvider,
)
from openrevox.scheduler.conclude import conclude
from openrevox.scheduler.finishing import (
    END_CANCELLED,
    END_LEASE_LOST,
    END_SHUTDOWN,
    Finisher,
)
from openrevox.scheduler.progress import Progress
from openrevox.storage.database import Database
from openrevox.storage.repositories import dispatch as repo
from openrevox.storage.repositories.dispatch import ClaimedCall

log = logging.getLogger(__name__)

COALESCE_SECS = 0.02  # after a call ends, wait this long to claim several slots at once
KEY_LIMITS_TTL_SECS = 2.0  # how long the concurrency_limits table is cached

Now = Callable[[], datetime]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def system_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Running:
    claim: ClaimedCall
    task: asyncio.Task[None]
    stop_reason: str | None = None  # why we hung up: cancelled, shutdown, lease lost


class Dispatcher:
    """One worker's dispatch loop."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        provider: TelephonyProvider,
        *,
        worker_id: str | None = None,
        now: Now = system_now,
    ) -> None:
        self.db = db
        self.settings = settings
        self.provider = provider
        self.worker_id = worker_id or settings.worker_id or default_worker_id()
        self.now = now
        self.lease = timedelta(seconds=settings.dispatcher_lease_secs)
        self.heartbeat_secs = settings.dispatcher_heartbeat_secs or (
            settings.dispatcher_lease_secs / 3
        )
        self._running: dict[str, _Running] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.claimed_total = 0
        self._key_limits: dict[str, int] = {}
        self._key_limits_at = -float("inf")
        self.finished_total = 0
        # Ends of attempts written at once: half the connection pool, so that a burst of
        # calls ending together queues here instead of opening (and closing) overflow
        # connections, each a new PostgreSQL backend.
        self._writers = asyncio.Semaphore(max(1, settings.database_pool_size // 2))
        self._finisher = Finisher(db, self.worker_id, now)

    @property
    def after_finish(self) -> Callable[[], None] | None:
        """Called when an order went to post_processing (the in-process job runner's wake)."""
        return self._finisher.after_finish

    @after_finish.setter
    def after_finish(self, wake: Callable[[], None] | None) -> None:
        self._finisher.after_finish = wake

    # ---- the loop ----

    async def run(self) -> None:
        """Claim and dial until ``stop``; then drain (see ``stop``)."""
        log.info("dispatcher %s started", self.worker_id)
        heartbeat = asyncio.create_task(self._heartbeat_loop())
        loop = asyncio.get_running_loop()
        recovered_at = -float("inf")
        try:
            while not self._stopping.is_set():
                claimed = 0
                try:
                    if loop.time() - recovered_at >= self.heartbeat_secs:
                        recovered_at = loop.time()
                        await self.recover_expired()
                    claimed = await self.claim_once()
                except Exception:
                    log.exception("dispatch round failed")
                if claimed and self._free_capacity() > 0:
                    continue
                self._wake.clear()
                if await self._sleep(self.settings.dispatcher_poll_interval_secs):
                    # Woken by a call that ended: let others end too, claim them at once.
                    await asyncio.sleep(COALESCE_SECS)
        finally:
            await self._drain()
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            log.info("dispatcher %s stopped", self.worker_id)

    def stop(self) -> None:
        """Stop claiming; ``run`` then lets calls finish up to the shutdown timeout."""
        self._stopping.set()
        self._wake.set()

    @property
    def running(self) -> int:
        return len(self._running)

    async def _sleep(self, secs: float) -> bool:
        """Sleep ``secs`` or until woken; True when woken."""
        try:
            await asyncio.wait_for(self._wake.wait(), secs)
        except TimeoutError:
            return False
        return True

    def _free_capacity(self) -> int:
        return self.settings.dispatcher_max_calls_per_worker - len(self._running)

    # ---- claiming ----

    async def claim_once(self) -> int:
        """One claim transaction: admit due orders under the limits and start them."""
        capacity = self._free_capacity()
        if capacity <= 0:
            return 0
        now = self.now()
        claimed: list[ClaimedCall] = []
        async with self.db.write() as session:
            due = await repo.due_calls(
                session, now, max(capacity, self.settings.dispatcher_batch_size)
            )
            if not due:
                return 0
            await repo.lock_organizations(session, (c.organization_id for c in due))
            per_org, per_key = await repo.active_counts(session, (c.organization_id for c in due))
            limits = await self._limits(session)
            org_limit = self.settings.organization_concurrency_limit
            organizations = {
                org: Usage(per_org.get(org, 0), org_limit)
                for org in {c.organization_id for c in due}
            }
            keys = {
                (c.organization_id, c.concurrency_key): Usage(
                    per_key.get((c.organization_id, c.concurrency_key), 0),
                    limits[c.concurrency_key],
                )
                for c in due
                if c.concurrency_key is not None and c.concurrency_key in limits
            }
            usage = await repo.campaign_usage(
                session, (c.campaign_id for c in due if c.campaign_id)
            )
            campaigns = {cid: Usage(active, limit) for cid, (active, limit) in usage.items()}
            candidates = [
                Candidate(
                    c.organization_id,
                    c.concurrency_key if c.concurrency_key in limits else None,
                    c.campaign_id if c.campaign_id in campaigns else None,
                )
                for c in due
            ]
            admissions = plan_admissions(candidates, organizations, keys, campaigns)
            waiting: dict[str, str] = {}
            admitted: list[str] = []
            for call, admission in zip(due, admissions, strict=True):
                if not admission.admitted or len(admitted) >= capacity:
                    reason = admission.reason or "worker capacity reached"
                    if call.status != "queued_for_calling" or call.status_reason != reason:
                        waiting[call.id] = reason
                    continue
                admitted.append(call.id)
            claimed = await repo.claim(
                session,
                admitted,
                worker_id=self.worker_id,
                now=now,
                lease_until=now + self.lease,
                provider=self.provider.name,
            )
            await repo.mark_waiting(session, waiting, now)
        for claim in claimed:
            self._start(claim)
        self.claimed_total += len(claimed)
        return len(claimed)

    async def _limits(self, session: AsyncSession) -> dict[str, int]:
        """Concurrency-key limits: the settings', overridden by the table's (cached)."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._key_limits_at >= KEY_LIMITS_TTL_SECS:
            self._key_limits = await repo.key_limits(session)
            self._key_limits_at = loop.time()
        return {**self.settings.concurrency_key_limits, **self._key_limits}

    def _start(self, claim: ClaimedCall) -> None:
        task = asyncio.create_task(self._carry(claim), name=f"call-{claim.call_id}")
        self._running[claim.call_id] = _Running(claim, task)

    # ---- one attempt ----

    async def _carry(self, claim: ClaimedCall) -> None:
        request = DialRequest(
            attempt_id=claim.attempt_id,
            call_id=claim.call_id,
            organization_id=claim.organization_id,
            to_number=claim.to_number,
            from_number=claim.from_number,
            assistant=claim.assistant,
            prompt_variables=claim.prompt_variables,
            attempt_number=claim.attempt_number,
        )
        started = self.now()
        progress = Progress(self.db, self.now, claim.attempt_id)
        try:
            try:
                outcome = await self.provider.place_call(request, progress)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("dialling call %s failed", claim.call_id)
                outcome = AttemptOutcome(
                    status="error",
                    started_at=started,
                    ended_at=self.now(),
                    dial_error="non_classified_error",
                    ended_by="system",
                    error=f"{type(exc).__name__}: {exc}",
                )
            await progress.settle()
            running = self._running.get(claim.call_id)
            stop_reason = running.stop_reason if running else None
            async with self._writers:
                await self._finisher.finish(claim, outcome, stop_reason)
        except asyncio.CancelledError:
            # Shut down before the call ended: give the order back (see _drain).
            await progress.settle()
            await asyncio.shield(self._finisher.release(claim))
            raise
        except Exception:
            log.exception("recording the end of call %s failed", claim.call_id)
        finally:
            self._running.pop(claim.call_id, None)
            self.finished_total += 1
            self._wake.set()

    # ---- heartbeats, cancellation, recovery ----

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_secs)
            try:
                await self.heartbeat()
            except Exception:
                log.exception("heartbeat failed")

    async def heartbeat(self) -> None:
        """Renew the leases of running calls; hang up cancelled ones and lost leases."""
        ids = list(self._running)
        if not ids:
            return
        async with self.db.write() as session:
            statuses = await repo.renew(session, self.worker_id, ids, self.now() + self.lease)
        for call_id, status in statuses.items():
            running = self._running.get(call_id)
            if running is None or running.stop_reason is not None:
                continue
            if status == "cancelled":
                await self._hang_up(running, END_CANCELLED)
            elif status is None:
                await self._hang_up(running, END_LEASE_LOST)

    async def _hang_up(self, running: _Running, reason: str) -> None:
        running.stop_reason = reason
        try:
            await self.provider.hang_up(running.claim.attempt_id)
        except Exception:
            log.exception("hanging up call %s failed", running.claim.call_id)

    async def recover_expired(self, limit: int = 100) -> int:
        """End the attempts of orders whose lease expired (their worker died) and
        reschedule the orders by the retry policy."""
        now = self.now()
        async with self.db.write() as session:
            orders = await repo.expired_orders(session, now, limit)
            for order in orders:
                started, result = await repo.end_live_attempts(
                    session, order.id, now, END_LEASE_LOST
                )
                log.warning("call %s: its worker's lease expired; attempt ended", order.id)
                values = conclude(
                    order,
                    result=cast(AttemptResult | None, result),
                    dial_error=None,
                    attempt_started_at=started or now,
                    now=now,
                )
                await self._finisher.conclude_order(
                    session, order.id, order.organization_id, values
                )
        return len(orders)

    async def _drain(self) -> None:
        """Let running calls finish up to the shutdown timeout, then hang up and release."""
        if not self._running:
            return
        tasks = [r.task for r in self._running.values()]
        timeout = self.settings.dispatcher_shutdown_timeout_secs
        _, pending = await asyncio.wait(tasks, timeout=timeout) if timeout > 0 else ((), tasks)
        if not pending:
            return
        for running in list(self._running.values()):
            await self._hang_up(running, END_SHUTDOWN)
        _, pending = await asyncio.wait(pending, timeout=5.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
