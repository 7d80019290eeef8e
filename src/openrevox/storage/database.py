"""Engine and transactions. Callers own the transaction: ``async with db.write() as s``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


class Database:
    """One engine per process, with read and write transactions.

    On SQLite writes take ``BEGIN IMMEDIATE`` behind a process-wide lock, so concurrent
    requests queue in order instead of failing with ``database is locked``; other
    processes wait on SQLite's busy timeout.
    """

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            ensure_sqlite_folder(url)
            self.engine: AsyncEngine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=0
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(writer, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work; rolled back at the end."""
        async with self._reader() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A unit of work committed when the block ends, rolled back on error."""
        if self._write_lock is None:
            async with self._writer() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._writer() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, a busy timeout, and our own BEGIN so writes can be IMMEDIATE."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
