"""Engine and transactions. Callers own the transaction: ``async with db.write() as s``.

Hot request paths may instead run one synchronous unit of work in the database thread
(``await db.unit(work, write=..., key=...)``, storage/units.py): prepared Core statements on a
synchronous driver, one executor call instead of one awaited round trip per statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from openrevox.storage.units import UnitConnection, Units

T = TypeVar("T")
# The database thread pool on PostgreSQL: threads, and lanes for reads and for writes
# (storage/units.py). SQLite has one thread and one lane of each: its writes take turns.
UNIT_THREADS = 8
UNIT_LANES = 4


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
        self._unit_url = _synchronous_url(url)
        self._unit_threads = 1 if self.is_sqlite else min(UNIT_THREADS, pool_size)
        self._unit_lanes = 1 if self.is_sqlite else max(1, min(UNIT_LANES, pool_size // 2))
        self._units: Units | None = None

    @property
    def has_units(self) -> bool:
        """Whether :meth:`unit` is available (a file or server database with a sync driver)."""
        return self._unit_url is not None

    async def unit(self, work: Callable[[UnitConnection], T], *, write: bool, key: str) -> T:
        """Run ``work`` in the database thread, in a transaction committed before this
        returns its result (or re-raises its exception, having written nothing).

        Units with the same ``key`` (e.g. the row they lock) queue on one lane, in order;
        those queued together share one transaction and one commit (group commit, see
        storage/units.py). The event loop is never blocked. On SQLite a write batch holds
        the same process-wide write lock as :meth:`write` and begins ``IMMEDIATE``; on
        PostgreSQL row locks (``FOR UPDATE``) order writers of other lanes and processes.
        """
        units = self._units
        if units is None:
            if self._unit_url is None:
                raise RuntimeError(f"no synchronous units of work on {self.url}")
            units = self._units = Units(
                self._unit_url, self._unit_threads, self._unit_lanes, _configure_sqlite
            )
        lock = self._write_lock if write else None
        return await units.submit(work, write=write, key=key, lock=lock)

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
        units, self._units = self._units, None
        if units is not None:
            await asyncio.to_thread(units.close)


def _synchronous_url(url: str) -> URL | None:
    """The same database through a synchronous driver (pysqlite, psycopg), or None."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None  # a private in-memory database is not shared between engines
        return parsed.set(drivername="sqlite+pysqlite")
    if backend == "postgresql":
        if parsed.query and parsed.get_driver_name() != "psycopg":
            return None  # driver-specific options may not mean the same to psycopg
        return parsed.set(drivername="postgresql+psycopg")
    return None


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine | Engine) -> None:
    """WAL, foreign keys, a busy timeout, and our own BEGIN so writes can be IMMEDIATE."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
