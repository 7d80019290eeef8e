"""``openrevox worker``: the dispatcher and the job runner (several workers may share one
PostgreSQL); ``--only dispatch`` or ``--only jobs`` runs one role."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Literal

import typer

from openrevox.config import Settings


def worker(
    only: Annotated[
        Literal["dispatch", "jobs"] | None,
        typer.Option("--only", help="Run one role: dispatch (calls) or jobs (after-call work)"),
    ] = None,
) -> None:
    """Apply pending migrations, then dial due calls and run after-call jobs until SIGTERM."""
    from openrevox.heap import freeze_startup_objects
    from openrevox.scheduler import run_worker
    from openrevox.storage.migrate import upgrade

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    upgrade(settings.database_url)
    freeze_startup_objects()  # no full collection walks the imported world (heap.py)
    asyncio.run(run_worker(settings, dispatch=only != "jobs", jobs=only != "dispatch"))
