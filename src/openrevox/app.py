"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from openrevox import __version__
from openrevox.api import account, assistants, calls, errors, recordings, twilio_webhooks
from openrevox.config import Settings
from openrevox.storage.database import Database

if TYPE_CHECKING:
    from openrevox.scheduler import Dispatcher


def start_dispatcher(db: Database, settings: Settings) -> tuple[Dispatcher, asyncio.Task[None]]:
    """The in-process dispatcher of ``serve``, running on the app's engine."""
    from openrevox.scheduler import Dispatcher, telephony_for  # the runtime: imported lazily

    dispatcher = Dispatcher(db, settings, telephony_for(settings, db))
    return dispatcher, asyncio.create_task(dispatcher.run(), name="dispatcher")


def create_app(settings: Settings | None = None, *, dispatch: bool = False) -> FastAPI:
    """Build the app. Settings are read here (from the environment when not given).

    With ``dispatch`` (``serve`` passes ``settings.dispatcher_in_process``) the lifespan
    also runs the dispatcher, stopped gracefully on shutdown."""
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
        app.state.dispatcher = dispatching[0] if dispatching else None
        try:
            yield
        finally:
            if dispatching is not None:
                dispatcher, task = dispatching
                dispatcher.stop()
                await task
            await db.dispose()

    app = FastAPI(
        title="openrevox",
        version=__version__,
        description="Self-hosted voice-agent platform that speaks the Revox REST API.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    app.include_router(account.router)
    app.include_router(assistants.router)
    app.include_router(calls.router)
    app.include_router(recordings.router)
    twilio_webhooks.include(app)
    return app
