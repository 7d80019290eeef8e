"""Wiring: the configured telephony provider, and a worker process's main loop."""

from __future__ import annotations

import asyncio
import logging
import signal

from openrevox.config import Settings
from openrevox.providers.telephony.base import TelephonyProvider
from openrevox.providers.telephony.simulated import SimulatedTelephony
from openrevox.scheduler.dispatcher import Dispatcher
from openrevox.storage.database import Database

log = logging.getLogger(__name__)


def telephony_for(settings: Settings, db: Database | None = None) -> TelephonyProvider:
    """The provider named by ``telephony_provider``; ``simulated`` by default."""
    if settings.telephony_provider == "simulated":
        return SimulatedTelephony(settings)
    if settings.telephony_provider == "twilio":
        from openrevox.providers.telephony.twilio import TwilioTelephony

        return TwilioTelephony(settings, db)
    raise ValueError(
        f"telephony_provider {settings.telephony_provider!r} is not available; "
        "use simulated or twilio"
    )


async def run_worker(settings: Settings, *, dispatch: bool = True, jobs: bool = True) -> None:
    """Run a dispatcher and/or a job runner until SIGTERM or SIGINT, then shut down
    gracefully (running calls and jobs finish). Both by default; a deployment may run
    the roles in separate processes (``openrevox worker --only dispatch|jobs``)."""
    from openrevox.jobs import JobRunner
    from openrevox.postcall.kinds import post_call_kinds
    from openrevox.scheduler.dispatcher import default_worker_id

    db = Database(settings.database_url, pool_size=settings.database_pool_size)
    worker_id = settings.worker_id or default_worker_id()
    dispatcher = (
        Dispatcher(db, settings, telephony_for(settings, db), worker_id=worker_id)
        if dispatch
        else None
    )
    runner = JobRunner(db, settings, post_call_kinds(), worker_id=worker_id) if jobs else None
    if dispatcher is not None and runner is not None:
        dispatcher.after_finish = runner.wake
    loops = [part for part in (dispatcher, runner) if part is not None]

    def stop() -> None:
        for part in loops:
            part.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        await asyncio.gather(*(part.run() for part in loops))
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await db.dispose()
