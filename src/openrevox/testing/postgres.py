"""Throwaway PostgreSQL databases for tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    """The server tests may create databases on (``OPENREVOX_TEST_POSTGRES_URL``)."""
    return os.environ.get("OPENREVOX_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def reachable(url: str | None = None) -> str | None:
    """None when PostgreSQL answers at ``url``; otherwise why not."""
    try:
        connection = await asyncpg.connect(_dsn(url or admin_url()), timeout=3.0)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


@asynccontextmanager
async def scratch_database(url: str | None = None) -> AsyncIterator[str]:
    """A new empty database, dropped afterwards; yields its SQLAlchemy URL."""
    base = make_url(url or admin_url())
    name = f"openrevox_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_dsn(str(base.render_as_string(hide_password=False))))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
