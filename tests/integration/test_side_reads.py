"""Reads beside a session: on a connection of their own when the pool has one free, else
None at once (the caller reads in one lane), never a wait for a busy pool."""

import asyncio
import time

from sqlalchemy import text

from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.storage.side_reads import FREE_CONNECTION_WAIT_SECS, side_session


async def test_a_side_session_reads_on_its_own_connection(database_url: str) -> None:
    await upgrade_async(database_url)
    db = Database(database_url, pool_size=2)
    try:
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
            async with side_session(session) as side:
                assert side is not None
                mine = await session.connection()
                theirs = await side.connection()
                assert (await mine.get_raw_connection()) is not (await theirs.get_raw_connection())
                both = await asyncio.gather(
                    session.scalar(text("SELECT count(*) FROM organizations")),
                    side.scalar(text("SELECT count(*) FROM organizations")),
                )
                assert both == [0, 0]
    finally:
        await db.dispose()


async def test_a_busy_pool_gives_no_side_session_without_waiting(database_url: str) -> None:
    await upgrade_async(database_url)
    db = Database(database_url, pool_size=1)  # PostgreSQL: one more as overflow
    try:
        async with db.read() as session, db.read() as other:
            await session.execute(text("SELECT 1"))
            if not db.is_sqlite:
                await other.execute(text("SELECT 1"))  # every connection is now taken
            started = time.perf_counter()
            async with side_session(session) as side:
                assert side is None
            assert time.perf_counter() - started < FREE_CONNECTION_WAIT_SECS + 1.0
            assert await session.scalar(text("SELECT 1")) == 1  # the session still reads
    finally:
        await db.dispose()
