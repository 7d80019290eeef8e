"""Writing the end of an attempt: the order's next state, its attempt, its after-call job.

    finisher = Finisher(db, worker_id, now)
    await finisher.finish(claim, outcome, stop_reason)   # the attempt ended
    await finisher.release(claim)                        # shut down before it ended

The common end takes one round trip (``finish_unchanged``); an order changed since its
claim (cancelled, paused, lease lost) is read and decided in a transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.postcall.flow import analysis_job_row, begin_post_processing
from openrevox.providers.telephony.base import AttemptOutcome
from openrevox.scheduler.conclude import conclude
from openrevox.storage.database import Database
from openrevox.storage.repositories import dispatch as repo
from openrevox.storage.repositories.assistants import add_learned_questions
from openrevox.storage.repositories.dispatch import ClaimedCall

log = logging.getLogger(__name__)

# Why the dispatcher itself ended an attempt (``end_reason`` on the wire, ended_by system).
END_CANCELLED = "client_initiated"  # the order was cancelled while the attempt was live
END_SHUTDOWN = "participant_removed"  # the worker stopped before the call ended
END_LEASE_LOST = "connection_timeout"  # the worker died: its lease expired mid-call


def released(now: datetime) -> dict[str, Any]:
    """An order given back by a stopping worker: due again now, lease cleared."""
    return {
        "claimed_by": None,
        "lease_expires_at": None,
        "status": "scheduled",
        "next_attempt_at": now,
        "updated_at": now,
    }


class Finisher:
    """One worker's writes at the end of its attempts."""

    def __init__(self, db: Database, worker_id: str, now: Callable[[], datetime]) -> None:
        self.db = db
        self.worker_id = worker_id
        self.now = now
        # Called when an order went to post_processing (the in-process job runner's wake).
        self.after_finish: Callable[[], None] | None = None

    async def finish(
        self, claim: ClaimedCall, outcome: AttemptOutcome, stop_reason: str | None
    ) -> None:
        """Record the attempt's end and the order's next state (``stop_reason``: why the
        dispatcher hung up, if it did)."""
        now = self.now()
        end_reason = outcome.end_reason
        ended_by = outcome.ended_by
        status: str = outcome.status
        if stop_reason is not None:
            ended_by, end_reason = "system", stop_reason
            if stop_reason == END_SHUTDOWN:
                status = "error"
        engine: dict[str, Any] = {**outcome.engine, "worker": self.worker_id}
        if outcome.error:
            engine["error"] = outcome.error
        ending: dict[str, Any] = {
            "status": status,
            "result": outcome.result,
            "dial_error": outcome.dial_error,
            "ended_by": ended_by,
            "end_reason": end_reason,
            "started_at": outcome.started_at,
            "answered_at": outcome.answered_at,
            "ended_at": outcome.ended_at,
            "transcript": outcome.transcript or None,
            "speech_events": outcome.speech_events or None,
            "sms_log": outcome.sms_log or None,
            "provider_call_id": outcome.provider_call_id,
            "engine": engine,
            "updated_at": now,
        }
        if (
            stop_reason is None
            and not outcome.faq_candidates
            and await self._finish_unchanged(claim, outcome, ending, now)
        ):
            return
        async with self.db.write() as session:
            order = await repo.held_order(session, claim.call_id, self.worker_id)
            if order is None:
                return  # the lease was lost: the attempt was recovered elsewhere
            await repo.end_attempt(session, claim.attempt_id, **ending)
            if stop_reason == END_SHUTDOWN and order.status == "calling":
                # Not the callee's doing: the order is dialled again as soon as possible.
                values = released(now)
            else:
                values = conclude(
                    order,
                    result=outcome.result,
                    dial_error=outcome.dial_error,
                    attempt_started_at=outcome.started_at,
                    now=now,
                )
            if outcome.faq_candidates:
                questions = [str(f.get("question") or "") for f in outcome.faq_candidates]
                await add_learned_questions(session, claim.call_id, questions, now)
            await self.conclude_order(session, claim.call_id, claim.organization_id, values)

    async def _finish_unchanged(
        self, claim: ClaimedCall, outcome: AttemptOutcome, ending: dict[str, Any], now: datetime
    ) -> bool:
        """The common end of an attempt in one round trip (PostgreSQL): the retry policy
        applied to the order as claimed, written only if the order is unchanged since
        (``repo.finish_unchanged``). False when it changed (cancelled, paused, campaign
        cancelled, lease lost): ``finish`` then reads it and decides as usual."""
        if claim.claimed_at is None:
            return False
        values = conclude(
            claim.held(),
            result=outcome.result,
            dial_error=outcome.dial_error,
            attempt_started_at=outcome.started_at,
            now=now,
        )
        job: dict[str, Any] | None = None
        if values.get("status") == "completed":
            values["status"] = "post_processing"
            job = analysis_job_row(
                call_id=claim.call_id, organization_id=claim.organization_id, now=now
            )
        if self.db.is_sqlite:
            async with self.db.write() as session:
                done = await repo.finish_unchanged(
                    await session.connection(),
                    claim,
                    worker_id=self.worker_id,
                    order_values=values,
                    attempt_values=ending,
                    job=job,
                )
        else:
            async with self.db.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                done = await repo.finish_unchanged(
                    conn,
                    claim,
                    worker_id=self.worker_id,
                    order_values=values,
                    attempt_values=ending,
                    job=job,
                )
        if done and job is not None and self.after_finish is not None:
            asyncio.get_running_loop().call_soon(self.after_finish)
        return done

    async def conclude_order(
        self, session: AsyncSession, call_id: str, organization_id: str, values: dict[str, Any]
    ) -> None:
        """Write the order's new state. An order that ended goes to ``post_processing``
        with its after-call work (analysis, notifications) enqueued as durable jobs in
        the same transaction; they move it on to ``completed``."""
        if values.get("status") == "completed":
            values["status"] = "post_processing"
            await begin_post_processing(
                session, call_id=call_id, organization_id=organization_id, now=self.now()
            )
            if self.after_finish is not None:
                asyncio.get_running_loop().call_soon(self.after_finish)
        await repo.update_order(session, call_id, values)

    async def release(self, claim: ClaimedCall) -> None:
        """Give an order back without an outcome: attempt in error, order scheduled now."""
        now = self.now()
        try:
            async with self.db.write() as session:
                order = await repo.held_order(session, claim.call_id, self.worker_id)
                if order is None:
                    return
                await repo.end_live_attempts(session, claim.call_id, now, END_SHUTDOWN)
                values = (
                    released(now)
                    if order.status == "calling"
                    else {"claimed_by": None, "lease_expires_at": None, "updated_at": now}
                )
                await repo.update_order(session, claim.call_id, values)
        except Exception:
            log.exception("releasing call %s failed", claim.call_id)
