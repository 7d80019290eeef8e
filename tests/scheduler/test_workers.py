"""Worker processes sharing one PostgreSQL: limits hold, nothing is dialled twice,
a killed worker's call is recovered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from openrevox.providers.telephony.simulated import SimulatedStats
from openrevox.scheduler.testing import organization, place, place_many
from openrevox.storage.database import Database
from openrevox.storage.models import Call, CallAttempt
from tests.scheduler.conftest import attempts, order, wait_until

BUSY, NOT_ATTRIBUTED = "+12025550102", "+12025550105"
EVERY_DAY = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def retry(attempts: int) -> dict[str, Any]:
    return {
        "max_retry_attempts": attempts,
        "allowed_days": EVERY_DAY,
        "calling_windows": [
            {
                "calling_window_start_time": "00:00",
                "calling_window_end_time": "24:00",
                "retry_delay_seconds": 0,
            }
        ],
    }


@pytest.fixture
def pg(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("worker processes share one PostgreSQL")
    return database_url


@contextmanager
def workers(
    database_url: str, count: int, **settings: Any
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {
        **os.environ,
        "OPENREVOX_DATABASE_URL": database_url,
        "OPENREVOX_LOG_LEVEL": "warning",
        "OPENREVOX_DISPATCHER_POLL_INTERVAL_SECS": "0.02",
        "OPENREVOX_SIMULATED_ANSWER_SECS": "0",
        "OPENREVOX_DISPATCHER_SHUTDOWN_TIMEOUT_SECS": "2",
    }
    for name, value in settings.items():
        env[f"OPENREVOX_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    procs = [
        subprocess.Popen([sys.executable, "-m", "openrevox", "worker"], env=env)
        for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _all_completed(db: Database) -> bool:
    async with db.read() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(Call)
            .where(Call.status.not_in(("post_processing", "completed")))
        )
    return left == 0


@pytest.mark.parametrize("count", [2, 4])
async def test_workers_share_the_limit_and_never_dial_twice(
    db: Database, pg: str, tmp_path: Path, count: int
) -> None:
    stats = tmp_path / "stats.json"
    org = await organization(db)
    first = await place(db, org, BUSY, retry=retry(2))
    others = await place_many(db, first, [BUSY] * 59)
    keyed = await place(db, org, NOT_ATTRIBUTED, retry=retry(2), concurrency_key="k")
    await place_many(db, keyed, [NOT_ATTRIBUTED] * 9)
    with workers(
        pg,
        count,
        organization_concurrency_limit="4",
        concurrency_key_limits={"k": 1},
        simulated_ring_secs="0.05",
        simulated_stats_path=str(stats),
    ):
        await wait_until(lambda: _all_completed(db), within=60)
    seen = SimulatedStats(stats).read()
    assert seen["double_dials"] == 0
    assert 1 < seen["peak"] <= 4
    assert seen["dials"] == 60 * 2 + 10  # busy: two tries each; not attributed: one
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Call.calls_count, func.count(CallAttempt.id))
                .join(CallAttempt, CallAttempt.call_id == Call.id)
                .group_by(Call.id, Call.calls_count)
            )
        ).all()
        claimed = await session.scalar(
            select(func.count()).select_from(Call).where(Call.claimed_by.is_not(None))
        )
    assert all(count_ == n for count_, n in rows) and len(rows) == 70
    assert claimed == 0
    assert others


async def test_a_killed_worker_s_call_is_recovered_after_its_lease(
    db: Database, pg: str, tmp_path: Path
) -> None:
    org = await organization(db)
    call_id = await place(db, org, BUSY, retry=retry(3))
    lease = {"dispatcher_lease_secs": "1", "dispatcher_heartbeat_secs": "0.2"}
    with workers(pg, 1, simulated_ring_secs="60", **lease) as [doomed]:

        async def ringing() -> bool:
            return [a.status for a in await attempts(db, call_id)] == ["ringing"]

        await wait_until(ringing, within=30)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    assert (await order(db, call_id)).status == "calling"
    with workers(pg, 1, simulated_ring_secs="0", **lease):

        async def finished() -> bool:
            return (await order(db, call_id)).status in ("post_processing", "completed")

        await wait_until(finished, within=30)
    tried = await attempts(db, call_id)
    assert [(a.status, a.ended_by, a.end_reason, a.dial_error) for a in tried] == [
        ("error", "system", "connection_timeout", None),
        ("error", None, None, "busy"),
        ("error", None, None, "busy"),
    ]
    # Never dialled twice at once: the retry started after the dead attempt was ended.
    assert tried[0].ended_at is not None and tried[1].created_at >= tried[0].ended_at
    call = await order(db, call_id)
    assert (call.calls_count, call.claimed_by) == (3, None)
