"""What a kind of job implements, and what the runner gives it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.config import Settings
from openrevox.notifications.base import DeliveryTry
from openrevox.storage.database import Database
from openrevox.storage.repositories.jobs import ClaimedJob

Commit = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class JobContext:
    """The runner's resources, shared by every job it runs."""

    db: Database
    settings: Settings
    http: httpx.AsyncClient
    worker_id: str
    now: Callable[[], datetime]
    wake: Callable[[], None]  # new jobs were enqueued: look for due work at once


@dataclass
class JobStep:
    """One try's report. On success, ``commit`` runs in the transaction that marks the
    job succeeded (results stored, follow-up jobs enqueued: all or nothing)."""

    attempt: DeliveryTry
    commit: Commit | None = None


class JobKind(Protocol):
    """One kind of job (``jobs.kind``)."""

    name: str
    max_tries: int | None  # None: retried until ``give_up_after`` has passed

    def give_up_after(self, settings: Settings) -> timedelta:
        """How long after enqueueing the job is retried before it fails for good."""
        ...

    async def run(self, ctx: JobContext, job: ClaimedJob) -> JobStep:
        """Do the work once. Exceptions count as a retryable failed try."""
        ...

    async def gave_up(
        self, session: AsyncSession, ctx: JobContext, job: ClaimedJob, error: str | None
    ) -> None:
        """The job failed for good (in the transaction that records it)."""
        ...
