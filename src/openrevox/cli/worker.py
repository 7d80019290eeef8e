"""``openrevox worker``: the dispatcher alone (several may share one PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging

from openrevox.config import Settings


def worker() -> None:
    """Apply pending migrations, then claim and dial due calls until SIGTERM."""
    from openrevox.scheduler import run_worker
    from openrevox.storage.migrate import upgrade

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    upgrade(settings.database_url)
    asyncio.run(run_worker(settings))
