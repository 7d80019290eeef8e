"""``openrevox webhooks secret | deliveries | tries | replay`` as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from openrevox.notifications.webhooks import SECRET_PREFIX
from openrevox.storage.database import Database
from openrevox.storage.models import utcnow
from openrevox.storage.repositories import jobs as job_repo
from openrevox.storage.repositories import organizations


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openrevox", *args],
        env={**os.environ, "OPENREVOX_DATABASE_URL": database_url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cli, database_url, *args)


async def test_secret_is_made_once_and_rotated(database_url: str) -> None:
    made = await run(database_url, "keys", "create", "--org", "acme", "--email", "a@acme.test")
    assert made.returncode == 0, made.stderr
    first = await run(database_url, "webhooks", "secret", "--org", "acme")
    assert first.returncode == 0, first.stderr
    secret = first.stdout.strip().splitlines()[-1]
    assert secret.startswith(SECRET_PREFIX) and len(secret) > 30
    again = await run(database_url, "webhooks", "secret", "--org", "acme")
    assert again.stdout.strip().splitlines()[-1] == secret  # the same until rotated
    rotated = await run(database_url, "webhooks", "secret", "--org", "acme", "--rotate")
    new = rotated.stdout.strip().splitlines()[-1]
    assert new.startswith(SECRET_PREFIX) and new != secret
    assert (await run(database_url, "webhooks", "secret", "--org", "acme")).stdout.strip() == new
    missing = await run(database_url, "webhooks", "secret", "--org", "nobody")
    assert missing.returncode == 1 and "no organization named 'nobody'" in missing.stderr


async def test_deliveries_are_listed_and_a_failed_one_replayed(database_url: str) -> None:
    made = await run(database_url, "keys", "create", "--org", "acme", "--email", "a@acme.test")
    assert made.returncode == 0, made.stderr
    db = Database(database_url)
    try:
        async with db.write() as session:
            org = await organizations.by_name(session, "acme")
            assert org is not None
            now = utcnow()
            hook = await job_repo.enqueue(
                session,
                organization_id=org.id,
                call_id=None,
                kind="webhook",
                payload={"url": "http://127.0.0.1:9/x"},
                now=now,
                give_up_at=now + timedelta(hours=1),
            )
            [claimed] = await job_repo.claim_due(
                session, worker_id="w", now=now, lease_until=now + timedelta(seconds=30), limit=1
            )
            await job_repo.record_try(
                session,
                hook,
                try_number=1,
                worker="w",
                started_at=now,
                latency_ms=12.5,
                ok=False,
                status_code=503,
                error="HTTP 503: down",
            )
            await job_repo.settle(
                session, hook, "w", now=now, status=job_repo.FAILED, error="HTTP 503: down"
            )
        assert claimed.id == hook

        listed = await run(database_url, "webhooks", "deliveries", "--org", "acme")
        assert listed.returncode == 0, listed.stderr
        assert hook in listed.stdout and "failed" in listed.stdout and "HTTP 503" in listed.stdout
        only_email = await run(database_url, "webhooks", "deliveries", "--kind", "email")
        assert hook not in only_email.stdout
        bad_kind = await run(database_url, "webhooks", "deliveries", "--kind", "fax")
        assert bad_kind.returncode == 1 and "--kind must be one of" in bad_kind.stderr

        tries = await run(database_url, "webhooks", "tries", hook)
        assert tries.returncode == 0, tries.stderr
        assert "503" in tries.stdout and "12.5" in tries.stdout

        replayed = await run(database_url, "webhooks", "replay", hook)
        assert replayed.returncode == 0, replayed.stderr
        assert replayed.stdout.strip().splitlines()[-1] == f"{hook} pending"
        async with db.read() as session:
            view = await job_repo.get(session, hook)
        assert view is not None and view.status == "pending" and view.finished_at is None
        assert view.run_at > datetime(2026, 1, 1, tzinfo=UTC)
        # A pending delivery is not replayed twice; an unknown id is an error.
        again = await run(database_url, "webhooks", "replay", hook)
        assert "it was not finished" in again.stderr
        unknown = await run(database_url, "webhooks", "replay", "nope")
        assert unknown.returncode == 1 and "no delivery with id 'nope'" in unknown.stderr
    finally:
        await db.dispose()
