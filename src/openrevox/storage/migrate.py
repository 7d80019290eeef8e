"""Apply Alembic migrations programmatically (``openrevox migrate`` and ``serve``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from openrevox.storage.database import ensure_sqlite_folder

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``. Blocking: call it off the event loop."""
    if make_url(database_url).get_backend_name() == "sqlite":
        ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """``upgrade`` from inside a running event loop."""
    await asyncio.to_thread(upgrade, database_url, revision)
