"""Shared plumbing for commands that touch the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from openrevox.config import Settings
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade

T = TypeVar("T")


def with_database(work: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate the configured database, then run ``work`` against it."""
    settings = Settings()
    upgrade(settings.database_url)

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())
