"""Dispatcher tests: a migrated database on each backend and a fake LLM."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger
from sqlalchemy import select

from openrevox.config import Settings
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.storage.models import Call, CallAttempt
from openrevox.testing.fake_openai import FakeOpenAI

logger.remove()
logger.add(sys.stderr, level="WARNING")


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default="Thank you, goodbye.") as fake:
        yield fake


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await upgrade_async(database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


def fast_settings(database_url: str, llm: FakeOpenAI | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "llm_max_retries": 0,
        "user_inactivity_timeout_secs": 0,
        "dispatcher_poll_interval_secs": 0.02,
        "dispatcher_heartbeat_secs": 0.1,
        "dispatcher_lease_secs": 5,
        "dispatcher_shutdown_timeout_secs": 5,
        "simulated_ring_secs": 0,
        "simulated_answer_secs": 0,
    }
    if llm is not None:
        values.update(openai_base_url=llm.base_url, openai_api_key="test-key")
    values.update(overrides)
    return Settings(**values)


async def order(db: Database, call_id: str) -> Call:
    async with db.read() as session:
        call = await session.get(Call, call_id)
        assert call is not None
        return call


async def attempts(db: Database, call_id: str) -> list[CallAttempt]:
    async with db.read() as session:
        rows = await session.execute(
            select(CallAttempt)
            .where(CallAttempt.call_id == call_id)
            .order_by(CallAttempt.attempt_number)
        )
        return list(rows.scalars())


async def wait_until(check: Any, *, within: float = 20.0, interval: float = 0.05) -> None:
    """Poll the async predicate ``check`` until it is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if await check():
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {check.__name__}")
        await asyncio.sleep(interval)


def stats_path(tmp_path: Path) -> Path:
    return tmp_path / "simulated-stats.json"
