"""Many rows into one table at once, in the caller's transaction, at the driver's speed.

SQLAlchemy's executemany processes every bound value of every row (a 2 KB assistant
snapshot is JSON-encoded once per call of a 100,000-contact campaign). Here each column's
value is converted by its own type once when it is the same for every row (``same``), and
once per row otherwise; the rows then go to the driver in one call: on PostgreSQL
(asyncpg) one ``INSERT ... SELECT FROM unnest`` of an array per column with the shared
values bound once, on SQLite ``executemany``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class NewRows:
    """Rows for one table: the values of ``columns`` per row, and ``same``, the values
    every row takes."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    same: dict[str, Any] = field(default_factory=dict)


def _processor(table: Table, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)


def _converted(value: Any, processor: Callable[[Any], Any] | None) -> Any:
    return value if processor is None or value is None else processor(value)


def _records(
    rows: list[tuple[Any, ...]],
    converting: list[tuple[int, Callable[[Any], Any]]],
    tail: list[Any],
) -> list[tuple[Any, ...]]:
    """Each row's values as stored, followed by the shared ones."""
    records: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for index, processor in converting:
            if values[index] is not None:
                values[index] = processor(values[index])
        values += tail
        records.append(tuple(values))
    return records


async def insert_rows(session: AsyncSession, table: Table, new: NewRows) -> None:
    """Insert ``new``'s rows into ``table``, every value as its column's type stores it."""
    conn = await session.connection()
    dialect = conn.dialect
    fixed = {
        name: _converted(value, _processor(table, name, dialect))
        for name, value in new.same.items()
    }
    converting = [
        (index, processor)
        for index, name in enumerate(new.columns)
        if (processor := _processor(table, name, dialect)) is not None
    ]
    if not new.rows:
        return
    # Pure work proportional to the rows: off the event loop.
    if dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        if driver is not None and hasattr(driver, "fetch"):  # asyncpg
            records = await asyncio.to_thread(_records, new.rows, converting, [])
            await driver.execute(*_unnest_insert(table, dialect, new.columns, records, fixed))
            return
    records = await asyncio.to_thread(_records, new.rows, converting, list(fixed.values()))
    names = [*new.columns, *fixed]
    placeholders = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in names)
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    statement = f"INSERT INTO {dialect.identifier_preparer.quote(table.name)} ({quoted}) "
    await conn.exec_driver_sql(statement + f"VALUES ({placeholders})", records)


def _unnest_insert(
    table: Table,
    dialect: Dialect,
    columns: tuple[str, ...],
    records: list[tuple[Any, ...]],
    fixed: dict[str, Any],
) -> list[Any]:
    """PostgreSQL: one ``INSERT ... SELECT`` from ``unnest`` of one array per column,
    the shared values bound once (a snapshot is then parsed once, not once per row)."""
    quote = dialect.identifier_preparer.quote

    def sql_type(name: str) -> str:
        return str(table.c[name].type.dialect_impl(dialect).compile(dialect=dialect))

    arrays = [f"CAST(${i + 1} AS {sql_type(name)}[])" for i, name in enumerate(columns)]
    shared = [f"CAST(${len(columns) + i + 1} AS {sql_type(name)})" for i, name in enumerate(fixed)]
    names = ", ".join(quote(name) for name in (*columns, *fixed))
    statement = (
        f"INSERT INTO {quote(table.name)} ({names}) "
        f"SELECT u.*, {', '.join(shared)} FROM unnest({', '.join(arrays)}) AS u"
    )
    return [statement, *zip(*records, strict=True), *fixed.values()]
