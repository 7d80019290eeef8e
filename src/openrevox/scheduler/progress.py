"""A provider's progress on a live attempt (ringing, answered), written a little late.

A write waits ``PROGRESS_DELAY_SECS`` and is dropped when the attempt ends first: an
instant outcome (busy, not attributed) costs one transaction, not three.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from openrevox.storage.database import Database
from openrevox.storage.repositories import dispatch as repo

log = logging.getLogger(__name__)

PROGRESS_DELAY_SECS = 0.05  # progress writes wait this long (dropped if the call ends)


class Progress:
    """Records a provider's progress on the attempt row (see the module)."""

    def __init__(self, db: Database, now: Callable[[], datetime], attempt_id: str) -> None:
        self._db = db
        self._now = now
        self._attempt_id = attempt_id
        self._pending: asyncio.Task[None] | None = None
        self._writing: asyncio.Task[None] | None = None  # a write past its delay

    async def ringing(self, provider_call_id: str | None) -> None:
        self._later(
            status="ringing",
            provider_call_id=provider_call_id,
            started_at=self._now(),
            updated_at=self._now(),
        )

    async def answered(self, at: datetime) -> None:
        self._later(status="ongoing", answered_at=at, updated_at=at)

    def _later(self, **values: Any) -> None:
        previous = self._pending

        async def write() -> None:
            if previous is not None:
                await asyncio.wait({previous})  # in order; a cancel here spares it
            await asyncio.sleep(PROGRESS_DELAY_SECS)
            self._writing = asyncio.current_task()
            try:
                async with self._db.write() as session:
                    await repo.update_attempt(session, self._attempt_id, **values)
            except Exception:
                log.exception("recording the progress of attempt %s failed", self._attempt_id)

        self._pending = asyncio.create_task(write())

    async def settle(self) -> None:
        """The attempt ended: drop progress not yet written; let a started write end
        (cancelling a query midway would cost its connection)."""
        pending = self._pending
        if pending is None:
            return
        if self._writing is not pending:
            pending.cancel()
        await asyncio.wait({pending})
        writing = self._writing
        if writing is not None and not writing.done():
            await asyncio.wait({writing})
