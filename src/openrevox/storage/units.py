"""Synchronous units of work in the database thread, for the hottest request paths.

A unit is a plain function run on a driver connection (pysqlite, psycopg) in a
dedicated thread pool: one executor call per request instead of one awaited round trip
per statement. Its statements are SQLAlchemy Core statements compiled once per dialect
(:class:`Prepared`): each execution binds the parameters with the columns' own type
processors and runs the final SQL on the driver's cursor, so values are stored and read
exactly as SQLAlchemy stores and reads them.

**Lanes and group commit.** Units are queued on lanes (a write lane per key, chosen by
hashing the key, e.g. an assistant id; read lanes alike). A lane runs one batch at a
time in the thread pool: every unit queued while the previous batch ran, in arrival
order, in ONE transaction, committed once; each unit's own result or error is handed
back to its caller only after that commit. So a hot row written by many requests costs
one durable commit per batch instead of one per request, and one thread handoff.

A unit that raises before writing anything fails alone (it wrote nothing, the batch goes
on). If a unit raises after writing, or any statement fails (PostgreSQL then aborts the
whole transaction), the batch is rolled back and every unit of it is run again, each in
its own transaction, so that no unit is affected by another's failure.

Each thread keeps one connection of the engine's pool for its whole life (no checkout,
no pre-ping per unit); a connection the server dropped is replaced on the next unit.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

T = TypeVar("T")
MAX_BATCH = 64  # units in one transaction at most
Processor = Callable[[Any], Any]


def _json_dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (integers beyond 64 bits): the standard encoder
        return json.dumps(value)


class _Compiled:
    """One statement compiled for one dialect, with its bind and result processors."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = str(compiled)
        # Values fixed in the statement itself (bindparam("x", value)).
        self.defaults = {
            name: bind.value for bind, name in compiled.bind_names.items() if bind.value is not None
        }
        self.order: list[str] | None = (
            list(compiled.positiontup or []) if compiled.positional else None
        )
        processors: dict[str, Processor] = {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        self.bind_processors = processors
        columns = getattr(statement, "selected_columns", None) or ()
        self.result_processors: list[Processor | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self.processes_results = any(p is not None for p in self.result_processors)

    def parameters(self, given: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = {**self.defaults, **given} if self.defaults else dict(given)
        for name, processor in self.bind_processors.items():
            if name in values:
                values[name] = processor(values[name])
        if self.order is None:
            return values
        return [values[name] for name in self.order]

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if not self.processes_results:
            return tuple(raw)
        return tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(self.result_processors, raw, strict=True)
        )


class Prepared:
    """A Core statement for units of work: compiled once per dialect, then reused.

    Build it once (at import) with ``bindparam``s for every varying value; statements
    with expanding ``IN`` lists are not supported (write fixed lists as literals).
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def for_dialect(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        return compiled


class UnitConnection:
    """What a unit of work runs its statements on (its batch's transaction)."""

    def __init__(self, driver: Any, dialect: Dialect) -> None:
        self._driver = driver
        self.dialect = dialect
        self.wrote = False  # a statement changed rows
        self.failed = False  # a statement raised

    def _execute(self, statement: Prepared, params: Mapping[str, Any]) -> tuple[Any, _Compiled]:
        compiled = statement.for_dialect(self.dialect)
        cursor = self._driver.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(params))
        except BaseException:
            self.failed = True
            cursor.close()
            raise
        return cursor, compiled

    def first(self, statement: Prepared, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        cursor, compiled = self._execute(statement, params)
        try:
            raw = cursor.fetchone()
        finally:
            cursor.close()
        return None if raw is None else compiled.row(raw)

    def all(self, statement: Prepared, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        cursor, compiled = self._execute(statement, params)
        try:
            return [compiled.row(raw) for raw in cursor.fetchall()]
        finally:
            cursor.close()

    def run(self, statement: Prepared, params: Mapping[str, Any]) -> int:
        """Execute a statement that returns no rows; the number of rows it changed."""
        cursor, _ = self._execute(statement, params)
        try:
            changed = int(cursor.rowcount)
        finally:
            cursor.close()
        if changed:
            self.wrote = True
        return changed


Work = Callable[[UnitConnection], Any]
# One unit's outcome: (True, its result) or (False, the exception it raised).
Outcome = tuple[bool, Any]


class _Redo(Exception):
    """The batch must be rolled back and its units run one by one."""


class Units:
    """The database thread pool, its connections (one per thread) and its lanes."""

    def __init__(
        self, url: URL, threads: int, lanes: int, configure: Callable[[Engine], None]
    ) -> None:
        self.is_sqlite = url.get_backend_name() == "sqlite"
        self.engine = create_engine(
            url,
            pool_size=threads,
            max_overflow=0,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        if self.is_sqlite:
            configure(self.engine)
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="openrevox-db")
        self._local = threading.local()
        self._held: list[PoolProxiedConnection] = []
        self._lock = threading.Lock()
        self._lanes = {write: [_Lane() for _ in range(lanes)] for write in (False, True)}

    async def submit(
        self,
        work: Callable[[UnitConnection], T],
        *,
        write: bool,
        key: str,
        lock: asyncio.Lock | None,
    ) -> T:
        """Queue ``work`` on the lane of ``key``; its result once its batch committed.

        ``lock`` (SQLite's process-wide write lock) is held while a write batch runs."""
        lanes = self._lanes[write]
        lane = lanes[zlib.crc32(key.encode()) % len(lanes)] if len(lanes) > 1 else lanes[0]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        lane.queue.append((work, future))
        if lane.task is None:
            lane.task = asyncio.create_task(self._drive(lane, write, lock))
        result: T = await future
        return result

    async def _drive(self, lane: _Lane, write: bool, lock: asyncio.Lock | None) -> None:
        loop = asyncio.get_running_loop()
        try:
            while lane.queue:
                batch, lane.queue = lane.queue[:MAX_BATCH], lane.queue[MAX_BATCH:]
                works = [work for work, _ in batch]
                try:
                    if lock is not None:
                        async with lock:
                            outcomes = await loop.run_in_executor(
                                self.executor, self.run_batch, works, write
                            )
                    else:
                        outcomes = await loop.run_in_executor(
                            self.executor, self.run_batch, works, write
                        )
                except BaseException as exc:  # the batch could not run at all
                    outcomes = [(False, exc)] * len(batch)
                    if not isinstance(exc, Exception):
                        for (_, future), (_, error) in zip(batch, outcomes, strict=True):
                            if not future.done():
                                future.set_exception(error)
                        raise
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():  # the caller went away (cancelled)
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            lane.task = None

    def run_batch(self, works: Sequence[Work], write: bool) -> list[Outcome]:
        """In a pool thread: the units in one transaction (see the module's docstring)."""
        proxied = self._connection()
        driver: Any = proxied.driver_connection
        try:
            try:
                return self._transaction(driver, works, write, batched=len(works) > 1)
            except _Redo:
                return [
                    self._transaction(driver, [work], write, batched=False)[0] for work in works
                ]
        finally:
            if getattr(driver, "closed", False) or getattr(driver, "broken", False):
                self._drop(proxied)

    def _transaction(
        self, driver: Any, works: Sequence[Work], write: bool, *, batched: bool
    ) -> list[Outcome]:
        if self.is_sqlite:
            driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        elif driver.autocommit == write:
            # PostgreSQL reads run each statement on its own (READ COMMITTED gives every
            # statement its own snapshot anyway): no BEGIN and COMMIT round trips.
            driver.autocommit = not write
        outcomes: list[Outcome] = []
        try:
            for work in works:
                connection = UnitConnection(driver, self.engine.dialect)
                try:
                    outcomes.append((True, work(connection)))
                except Exception as exc:
                    if batched and (connection.wrote or connection.failed):
                        raise _Redo from exc
                    if not batched and (connection.wrote or connection.failed):
                        raise  # its own transaction: rolled back below
                    outcomes.append((False, exc))
            if self.is_sqlite:
                driver.execute("COMMIT")
            elif write:
                driver.commit()
        except Exception as exc:
            self._rollback(driver)
            if isinstance(exc, _Redo) or batched:
                raise _Redo from exc
            return [(False, exc)]
        except BaseException:
            self._rollback(driver)
            raise
        return outcomes

    def _rollback(self, driver: Any) -> None:
        try:
            if self.is_sqlite:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
            elif not driver.autocommit:
                driver.rollback()
        except Exception:
            pass

    def _connection(self) -> PoolProxiedConnection:
        proxied: PoolProxiedConnection | None = getattr(self._local, "connection", None)
        if proxied is None:
            proxied = self.engine.raw_connection()
            self._local.connection = proxied
            with self._lock:
                self._held.append(proxied)
        return proxied

    def _drop(self, proxied: PoolProxiedConnection) -> None:
        """Forget a connection the server dropped; the next batch opens another."""
        self._local.connection = None
        with self._lock:
            if proxied in self._held:
                self._held.remove(proxied)
        proxied.invalidate()

    def close(self) -> None:
        """Stop the threads (after their running batches), then close every connection."""
        self.executor.shutdown(wait=True)
        with self._lock:
            held, self._held = self._held, []
        for proxied in held:
            proxied.close()
        self.engine.dispose()


@dataclass
class _Lane:
    """Units waiting for their batch, and the task running this lane's batches."""

    queue: list[tuple[Work, asyncio.Future[Any]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


@dataclass
class _Group:
    items: list[Any]
    open: bool = True
    task: asyncio.Future[list[Outcome]] | None = None


class Coalescer:
    """Concurrent requests with the same key share one unit of work.

    A request finding an open group of its key joins it; a group closes when its unit
    starts in the database thread (``take`` returns the items it serves, in arrival
    order) and the next request opens a new group. The unit returns one outcome per item,
    in order; each request gets its own (its result, or its exception raised).
    """

    def __init__(self) -> None:
        self._groups: dict[Any, _Group] = {}
        self._lock = threading.Lock()  # a group's items and state, between loop and thread

    async def run(
        self,
        key: Any,
        item: Any,
        start: Callable[[Callable[[], list[Any]]], asyncio.Future[list[Outcome]]],
    ) -> Any:
        """``start(take)`` submits the group's unit (called once per group); the unit calls
        ``take()`` first thing in the database thread."""
        group = self._groups.get(key)
        index = -1
        if group is not None:
            with self._lock:
                if group.open:
                    index = len(group.items)
                    group.items.append(item)
        if index < 0:
            group = _Group([item])
            index = 0
            self._groups[key] = group
            group.task = start(functools.partial(self._take, group))
            group.task.add_done_callback(functools.partial(self._forget, key, group))
        assert group is not None and group.task is not None
        ok, value = (await asyncio.shield(group.task))[index]
        if not ok:
            raise value
        return value

    def _take(self, group: _Group) -> list[Any]:
        with self._lock:
            group.open = False
            return list(group.items)

    def _forget(self, key: Any, group: _Group, _: object) -> None:
        if self._groups.get(key) is group:
            del self._groups[key]
