"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from openrevox import __version__
from openrevox.api import (
    account,
    assistants,
    calls,
    campaign_statistics,
    campaigns,
    errors,
    recordings,
    twilio_voice,
    twilio_webhooks,
    voices,
)
from openrevox.api import phone_numbers as phone_numbers_api
from openrevox.api.bodies import document_bodies
from openrevox.config import Settings
from openrevox.storage.database import Database

if TYPE_CHECKING:
    from openrevox.jobs import JobRunner
    from openrevox.scheduler import Dispatcher


def start_dispatcher(db: Database, settings: Settings) -> tuple[Dispatcher, asyncio.Task[None]]:
    """The in-process dispatcher of ``serve``, running on the app's engine."""
    from openrevox.scheduler import Dispatcher, telephony_for  # the runtime: imported lazily

    dispatcher = Dispatcher(db, settings, telephony_for(settings, db))
    return dispatcher, asyncio.create_task(dispatcher.run(), name="dispatcher")


def start_job_runner(db: Database, settings: Settings) -> tuple[JobRunner, asyncio.Task[None]]:
    """The in-process runner of after-call jobs (analysis, notifications)."""
    from openrevox.jobs import JobRunner
    from openrevox.postcall.kinds import post_call_kinds
    from openrevox.scheduler.dispatcher import default_worker_id

    runner = JobRunner(
        db, settings, post_call_kinds(), worker_id=settings.worker_id or default_worker_id()
    )
    return runner, asyncio.create_task(runner.run(), name="job-runner")


def create_app(settings: Settings | None = None, *, dispatch: bool = False) -> FastAPI:
    """Build the app. Settings are read here (from the environment when not given).

    With ``dispatch`` (``serve`` passes ``settings.dispatcher_in_process``) the lifespan
    also runs the dispatcher and the after-call job runner, stopped gracefully on
    shutdown."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            echo=settings.database_echo,
        )
        app.state.db = db
        dispatching = start_dispatcher(db, settings) if dispatch else None
        running_jobs = start_job_runner(db, settings) if dispatch else None
        app.state.dispatcher = dispatching[0] if dispatching else None
        app.state.job_runner = running_jobs[0] if running_jobs else None
        if dispatching is not None and running_jobs is not None:
            dispatching[0].after_finish = running_jobs[0].wake
        try:
            yield
        finally:
            if dispatching is not None:
                dispatcher, task = dispatching
                dispatcher.stop()
                await task
            if running_jobs is not None:
                runner, jobs_task = running_jobs
                runner.stop()
                await jobs_task
            await db.dispose()

    app = FastAPI(
        title="openrevox",
        version=__version__,
        description="Self-hosted voice-agent platform that speaks the Revox REST API.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    document_bodies(app)
    app.include_router(account.router)
    app.include_router(assistants.router)
    app.include_router(calls.router)
    app.include_router(campaigns.router)
    app.include_router(campaign_statistics.router)
    app.include_router(recordings.router)
    app.include_router(phone_numbers_api.router)
    app.include_router(voices.router)
    twilio_webhooks.include(app)
    twilio_voice.include(app)
    return app
