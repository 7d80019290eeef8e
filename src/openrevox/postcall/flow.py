"""The after-call flow: an order that ends goes to ``post_processing``, is analysed, then
``completed``, and its notifications are enqueued — each step a durable job.

    conclude (dispatcher) --begin_post_processing--> job analyse_call
    analyse_call --complete_order--> order completed + one job per notification

A failing analysis never loses a call: once its tries are spent the order completes
anyway, with the failure in ``status_reason``, and the notifications still go out.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.config import Settings
from openrevox.jobs.kinds import JobContext, JobStep
from openrevox.notifications.base import DeliveryError, DeliveryTry
from openrevox.postcall.analysis import Analysis, CallFacts, analyse_call
from openrevox.postcall.notify import enqueue_notifications
from openrevox.providers.llm.base import LlmNotConfigured, LlmUnsupported
from openrevox.services import calls as call_service
from openrevox.services.call_wire import CallView
from openrevox.storage.models import Call, CallAttempt
from openrevox.storage.repositories import jobs as job_repo
from openrevox.storage.repositories.jobs import ClaimedJob

ANALYSE_CALL = "analyse_call"
ANALYSIS_MAX_TRIES = 5
ANALYSIS_RETRY_WINDOW = timedelta(hours=1)

calls_table = cast(Table, Call.__table__)
attempts_table = cast(Table, CallAttempt.__table__)


def _analysis_job(*, call_id: str, organization_id: str, now: datetime) -> dict[str, Any]:
    """The analysis job's arguments, for ``enqueue`` and ``job_row`` alike."""
    return {
        "organization_id": organization_id,
        "call_id": call_id,
        "kind": ANALYSE_CALL,
        "payload": {},
        "now": now,
        "give_up_at": now + ANALYSIS_RETRY_WINDOW,
    }


async def begin_post_processing(
    session: AsyncSession, *, call_id: str, organization_id: str, now: datetime
) -> str:
    """Enqueue the analysis of an order that just ended (its status is the caller's)."""
    job = _analysis_job(call_id=call_id, organization_id=organization_id, now=now)
    return await job_repo.enqueue(session, **job)


def analysis_job_row(*, call_id: str, organization_id: str, now: datetime) -> dict[str, Any]:
    """The ``jobs`` row ``begin_post_processing`` enqueues, for a caller that inserts it
    in its own statement (the dispatcher's one-statement end of an attempt)."""
    job = _analysis_job(call_id=call_id, organization_id=organization_id, now=now)
    return job_repo.job_row(**job)


def parties(view: CallView) -> tuple[str, str | None]:
    """(the other party's number, ours). An outbound order calls ``to_phone_number``
    from ours; an inbound one was called on ours (``to_phone_number``) by
    ``from_phone_number``."""
    call = view.call
    if call.direction == "inbound":
        return call.from_phone_number or call.to_phone_number, call.to_phone_number
    dialled_from = next((a.from_phone_number for a in view.attempts if a.from_phone_number), None)
    return call.to_phone_number, dialled_from or call.from_phone_number


def facts_of(view: CallView) -> CallFacts:
    """What the analysis reads: the transcript of the last answered attempt."""
    call = view.call
    answered = next((a for a in view.attempts if a.transcript), None)
    theirs, ours = parties(view)
    return CallFacts(
        transcript=list(answered.transcript or []) if answered else [],
        call_direction=call.direction,
        user_phone_number=theirs,
        agent_phone_number=ours,
        prompt_variables=dict(call.prompt_variables or {}),
        ended_at=answered.ended_at if answered else None,
    )


class AnalyseCall:
    """Job kind ``analyse_call``: the LLM's summary, outcome, structured output, contact."""

    name = ANALYSE_CALL
    max_tries: int | None = ANALYSIS_MAX_TRIES

    def give_up_after(self, settings: Settings) -> timedelta:
        return ANALYSIS_RETRY_WINDOW

    async def run(self, ctx: JobContext, job: ClaimedJob) -> JobStep:
        async with ctx.db.read() as session:
            view = await _view(session, job)
        if view is None:
            return JobStep(DeliveryTry(ok=True, latency_ms=0, details={"skipped": "no call"}))
        started = time.perf_counter()
        try:
            analysis = await analyse_call(
                view.call.assistant_snapshot, facts_of(view), ctx.settings, http=ctx.http
            )
        except (LlmNotConfigured, LlmUnsupported) as exc:
            # Trying again cannot help until the operator changes the settings.
            raise DeliveryError(f"no LLM for the analysis: {exc}", retryable=False) from exc
        latency = (time.perf_counter() - started) * 1000

        async def commit(session: AsyncSession) -> None:
            await complete_order(session, ctx, job, analysis=analysis)

        return JobStep(
            DeliveryTry(ok=True, latency_ms=latency, details={"model": analysis.model}), commit
        )

    async def gave_up(
        self, session: AsyncSession, ctx: JobContext, job: ClaimedJob, error: str | None
    ) -> None:
        await complete_order(
            session, ctx, job, analysis=None, reason=f"after-call analysis failed: {error}"
        )


async def complete_order(
    session: AsyncSession,
    ctx: JobContext,
    job: ClaimedJob,
    *,
    analysis: Analysis | None,
    reason: str | None = None,
) -> bool:
    """``post_processing`` -> ``completed`` with the analysis; enqueue the notifications.

    Conditional on the order still being in ``post_processing``: a replayed or duplicate
    analysis changes nothing and notifies nobody twice.
    """
    if job.call_id is None:
        return False
    now = ctx.now()
    c = calls_table.c
    values: dict[str, Any] = {"status": "completed", "updated_at": now}
    if reason is not None:
        values["status_reason"] = reason
    if analysis is not None:
        values.update(
            summary=analysis.summary,
            outcome=analysis.outcome,
            outcome_summary=analysis.outcome_summary,
            structured_output=analysis.structured_output,
            contact=analysis.contact,
        )
    done = await session.execute(
        update(calls_table)
        .where(c.id == job.call_id, c.status == "post_processing")
        .values(**values)
        .returning(c.id)
    )
    if done.first() is None:
        return False
    view = await _view(session, job)
    if view is None:
        return True
    answered = next((at for at in view.attempts if at.transcript), None)
    if analysis is not None and analysis.structured_output is not None and answered:
        a = attempts_table.c
        await session.execute(
            update(attempts_table)
            .where(a.id == answered.id)
            .values(structured_output=analysis.structured_output)
        )
    if await enqueue_notifications(session, view, ctx.settings, now=now):
        ctx.wake()
    return True


async def _view(session: AsyncSession, job: ClaimedJob) -> CallView | None:
    if job.call_id is None:
        return None
    return await call_service.view_of(session, job.organization_id, job.call_id)
