"""Dispatcher throughput: 10,000 due calls to fast-outcome test numbers, dialled and finished.

Each scenario gets a fresh database (SQLite file, or a scratch PostgreSQL database), one
organization and N due orders with one attempt each, to the simulated network's
busy / no-answer / not-attributed numbers with no ringing delay. Then ``openrevox worker``
processes dial them all. Printed per scenario:

- attempts/s: attempts over the span from the first attempt created to the last ended
  (from the database, so the workers' start-up time is not counted), and over wall time;
- peak concurrency, counted by the simulated network in a shared file, against the
  organization limit;
- double dials: an order dialled while already live (the shared file), and orders whose
  attempt count differs from ``calls_count`` (the database). Both must be 0.

    .venv/bin/python bench/dispatch.py
    .venv/bin/python bench/dispatch.py --calls 2000 --scenarios sqlite:1 postgresql:4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from openrevox.providers.telephony.simulated import SimulatedStats
from openrevox.scheduler.testing import organization, place, place_many
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.storage.models import Call, CallAttempt
from openrevox.testing import postgres

NUMBERS = ("+12025550102", "+12025550103", "+12025550105")  # busy, no answer, not attributed
TARGET = 200.0  # attempts/s on PostgreSQL with four workers
ONE_TRY = {
    "max_retry_attempts": 1,
    "calling_windows": [
        {
            "calling_window_start_time": "00:00",
            "calling_window_end_time": "24:00",
            "retry_delay_seconds": 0,
        }
    ],
}


@dataclass
class Figures:
    scenario: str
    attempts: int
    span_secs: float
    wall_secs: float
    peak: int
    limit: int
    double_dials: int
    mismatched: int
    unfinished: int
    worker_cpu_secs: float

    @property
    def rate(self) -> float:
        return self.attempts / self.span_secs if self.span_secs else 0.0

    def line(self) -> str:
        return (
            f"{self.scenario:<16} {self.attempts:>6} attempts  {self.rate:8.1f} attempts/s "
            f"({self.attempts / self.wall_secs:7.1f}/s wall)  peak {self.peak:>3} / limit "
            f"{self.limit:<3}  double dials {self.double_dials} (+{self.mismatched} mismatched)"
            f"  unfinished {self.unfinished}  worker CPU {self.worker_cpu_secs:.1f} s "
            f"({1000 * self.worker_cpu_secs / max(1, self.attempts):.1f} ms/attempt)"
        )


@asynccontextmanager
async def database(backend: str, folder: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        return
    problem = await postgres.reachable()
    if problem is not None:
        raise SystemExit(f"PostgreSQL not reachable at {postgres.admin_url()}: {problem}")
    async with postgres.scratch_database() as url:
        yield url


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen([sys.executable, "-m", "openrevox", "worker"], env=env)
        for _ in range(count)
    ]


async def _unfinished(db: Database) -> int:
    async with db.read() as session:
        left = await session.scalar(
            select(func.count()).select_from(Call).where(Call.status != "completed")
        )
    return int(left or 0)


async def scenario(
    backend: str,
    workers: int,
    calls: int,
    limit: int,
    batch: int,
    within_secs: float,
    ring_secs: float = 0.0,
) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with database(backend, folder) as url:
            await upgrade_async(url)
            db = Database(url)
            try:
                org = await organization(db)
                first = await place(db, org, NUMBERS[0], retry=ONE_TRY)
                rest = [NUMBERS[i % len(NUMBERS)] for i in range(1, calls)]
                await place_many(db, first, rest)
                stats = folder / "stats.json"
                env = {
                    **os.environ,
                    "OPENREVOX_DATABASE_URL": url,
                    "OPENREVOX_LOG_LEVEL": "warning",
                    "OPENREVOX_ORGANIZATION_CONCURRENCY_LIMIT": str(limit),
                    "OPENREVOX_DISPATCHER_BATCH_SIZE": str(batch),
                    "OPENREVOX_DISPATCHER_POLL_INTERVAL_SECS": "0.01",
                    "OPENREVOX_SIMULATED_RING_SECS": str(ring_secs),
                    "OPENREVOX_SIMULATED_ANSWER_SECS": "0",
                    "OPENREVOX_SIMULATED_STATS_PATH": str(stats),
                }
                started = time.perf_counter()
                cpu_before = _children_cpu()
                procs = start_workers(workers, env)
                try:
                    deadline = started + within_secs
                    while time.perf_counter() < deadline:
                        if not await _unfinished(db):
                            break
                        await asyncio.sleep(0.2)
                    wall = time.perf_counter() - started
                finally:
                    for proc in procs:
                        proc.send_signal(signal.SIGTERM)
                    for proc in procs:
                        proc.wait(timeout=30)
                cpu = _children_cpu() - cpu_before
                async with db.read() as session:
                    first_at, last_at, attempts = (
                        await session.execute(
                            select(
                                func.min(CallAttempt.created_at),
                                func.max(CallAttempt.ended_at),
                                func.count(CallAttempt.id),
                            )
                        )
                    ).one()
                    per_call = (
                        select(Call.calls_count, func.count(CallAttempt.id).label("n"))
                        .join(CallAttempt, CallAttempt.call_id == Call.id)
                        .group_by(Call.id, Call.calls_count)
                        .subquery()
                    )
                    mismatched = await session.scalar(
                        select(func.count())
                        .select_from(per_call)
                        .where(per_call.c.calls_count != per_call.c.n)
                    )
                seen = SimulatedStats(stats).read()
                span = _seconds(first_at, last_at)
                return Figures(
                    scenario=f"{backend} x{workers}",
                    attempts=int(attempts),
                    span_secs=span,
                    wall_secs=wall,
                    peak=int(seen["peak"]),
                    limit=limit,
                    double_dials=int(seen["double_dials"]),
                    mismatched=int(mismatched or 0),
                    unfinished=await _unfinished(db),
                    worker_cpu_secs=cpu,
                )
            finally:
                await db.dispose()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _seconds(first: object, last: object) -> float:
    from datetime import datetime

    if not isinstance(first, datetime) or not isinstance(last, datetime):
        return 0.0
    if first.tzinfo is None:
        first, last = first.replace(tzinfo=None), last.replace(tzinfo=None)
    return max(1e-9, (last - first).total_seconds())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=50, help="organization concurrency limit")
    parser.add_argument("--batch", type=int, default=50, help="dispatcher_batch_size")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--ring-secs",
        type=float,
        default=0.0,
        help="simulated ringing before busy / no answer; with 0 an attempt never waits, "
        "so attempts barely overlap in the network and the peak says little",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["sqlite:1", "postgresql:1", "postgresql:4"],
        help="backend:workers",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    results: list[Figures] = []
    print(
        f"{args.calls} due calls to {', '.join(NUMBERS)}; organization limit {args.limit}; "
        f"ringing {args.ring_secs} s"
    )
    for spec in args.scenarios:
        backend, _, count = spec.partition(":")
        figures = asyncio.run(
            scenario(
                backend,
                int(count or 1),
                args.calls,
                args.limit,
                args.batch,
                args.timeout,
                args.ring_secs,
            )
        )
        results.append(figures)
        print(figures.line(), flush=True)
    for f in results:
        if f.scenario == "postgresql x4":
            verdict = "met" if f.rate >= TARGET else "NOT met"
            print(f"target {TARGET:.0f} attempts/s on PostgreSQL with four workers: {verdict}")
    if any(f.double_dials or f.mismatched for f in results):
        print("DOUBLE DIALS: the dispatcher dialled an order twice at once")
        sys.exit(1)
    if args.json:
        print(json.dumps([f.__dict__ for f in results]))


if __name__ == "__main__":
    main()
