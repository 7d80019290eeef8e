"""Shared fixtures: every storage and API test runs on SQLite and, when reachable, PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from openrevox.testing.postgres import admin_url, reachable, scratch_database

_pg_problem: str | None = asyncio.run(reachable())


def pytest_report_header() -> str:
    if _pg_problem is None:
        return f"PostgreSQL: reachable at {admin_url()}; backend tests run on SQLite and PostgreSQL"
    return f"PostgreSQL: NOT reachable at {admin_url()} ({_pg_problem}); PostgreSQL tests SKIPPED"


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database URL on each backend, unmigrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'openrevox.db'}"
        return
    if _pg_problem is not None:
        pytest.skip(f"PostgreSQL not reachable at {admin_url()}: {_pg_problem}")
    async with scratch_database() as url:
        yield url


@pytest.fixture
def sync_database_url(database_url: str) -> Iterator[str]:
    """``database_url`` for synchronous tests (subprocess servers)."""
    yield database_url
