"""``openrevox keys`` and ``openrevox migrate`` as a user runs them, on every backend."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx

from openrevox.app import create_app
from openrevox.config import Settings


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openrevox", *args],
        env={**os.environ, "OPENREVOX_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def status_with(database_url: str, key: str) -> int:
    app = create_app(Settings(database_url=database_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://t",
            headers={"Authorization": f"Bearer {key}"},
        ) as client,
    ):
        return (await client.get("/auth-status")).status_code


async def test_keys_create_list_revoke(database_url: str) -> None:
    first = await asyncio.to_thread(
        cli, database_url, "keys", "create", "--org", "acme", "--email", "a@acme.test"
    )
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip().splitlines()[-1]
    assert key.startswith("orx_") and len(key) > 40
    assert "created organization 'acme'" in first.stderr

    second = await asyncio.to_thread(
        cli, database_url, "keys", "create", "--org", "acme", "--email", "a@acme.test"
    )
    assert "created organization" not in second.stderr  # reused, not duplicated
    other_key = second.stdout.strip().splitlines()[-1]
    assert other_key != key

    listing = await asyncio.to_thread(cli, database_url, "keys", "list", "--org", "acme")
    assert listing.returncode == 0, listing.stderr
    assert key[:12] in listing.stdout and key not in listing.stdout
    assert listing.stdout.count("active") == 2

    assert await status_with(database_url, key) == 200
    revoked = await asyncio.to_thread(cli, database_url, "keys", "revoke", key[:12])
    assert revoked.returncode == 0, revoked.stderr
    assert await status_with(database_url, key) == 401
    assert await status_with(database_url, other_key) == 200

    unknown = await asyncio.to_thread(cli, database_url, "keys", "revoke", "orx_nothing")
    assert unknown.returncode == 1 and "no API key" in unknown.stderr


async def test_migrate_is_idempotent(database_url: str) -> None:
    for _ in range(2):
        done = await asyncio.to_thread(cli, database_url, "migrate")
        assert done.returncode == 0, done.stderr
        assert "database at head" in done.stdout
