"""Job kind ``watch_inbound_stream``: an answered inbound call whose media stream never
connected is ended in error (the attempt ``error``, the order on to ``post_processing``)
instead of staying ``calling`` for ever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.config import Settings
from openrevox.jobs.kinds import JobContext, JobStep
from openrevox.notifications.base import DeliveryTry
from openrevox.providers.telephony import attempt_records
from openrevox.services.inbound import STREAM_NEVER_CONNECTED, WATCH_INBOUND_STREAM, conclude_call
from openrevox.storage.repositories.jobs import ClaimedJob


class WatchInboundStream:
    name = WATCH_INBOUND_STREAM
    max_tries: int | None = 5

    def give_up_after(self, settings: Settings) -> timedelta:
        return timedelta(hours=1)

    async def run(self, ctx: JobContext, job: ClaimedJob) -> JobStep:
        attempt_id = str(job.payload.get("attempt_id") or "")
        view = await attempt_records.read_attempt(ctx.db, attempt_id)
        if view is None or view.media_state is not None or view.status in ("completed", "error"):
            return JobStep(DeliveryTry(ok=True, latency_ms=0, details={"stream": "connected"}))
        await attempt_records.set_engine_value(ctx.db, attempt_id, "error", STREAM_NEVER_CONNECTED)
        concluded = await conclude_call(ctx.db, attempt_id)
        if concluded:
            ctx.wake()  # its after-call job
        return JobStep(DeliveryTry(ok=True, latency_ms=0, details={"ended": concluded}))

    async def gave_up(
        self, session: AsyncSession, ctx: JobContext, job: ClaimedJob, error: str | None
    ) -> None:
        """Nothing more to do: the call stays as it is."""
