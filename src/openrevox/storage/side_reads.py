"""Reads run beside a session's own, on another connection of the same engine.

A report made of independent statements (a campaign's statistics) runs them in two
lanes: the database works on both at once (PostgreSQL's backends, SQLite's readers in
WAL mode each in their own thread). Each statement sees the latest committed state, as it
would one after another on a read session (no transaction spans them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

# How long to wait for a free connection before reading in the one lane instead: a busy
# pool must not make a report wait, nor starve the requests that hold the others.
FREE_CONNECTION_WAIT_SECS = 0.1


@asynccontextmanager
async def side_session(session: AsyncSession) -> AsyncIterator[AsyncSession | None]:
    """A read session on a connection of its own (rolled back at the end), or None when
    the pool has none free at once: then the caller reads on ``session``."""
    side = AsyncSession(bind=session.bind)
    try:
        await asyncio.wait_for(side.connection(), FREE_CONNECTION_WAIT_SECS)
    except TimeoutError:
        await side.close()
        yield None
        return
    try:
        yield side
    finally:
        await side.close()
