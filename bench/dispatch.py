"""Dispatcher throughput: 10,000 due calls to fast-outcome test numbers, dialled and finished.

Each scenario gets a fresh database (SQLite file, or a scratch PostgreSQL database), one
organization and N due orders with one attempt each, to the simulated network's
busy / no-answer / not-attributed numbers with no ringing delay. Then worker processes
dial them all. Printed per scenario, with the load average before and after (the
machine's other work skews every figure):

- attempts/s: attempts over the span from the first attempt created to the last ended
  (from the database, so the workers' start-up time is not counted), and over wall time;
- peak concurrency, counted by the simulated network in a shared file, against the
  organization limit;
- double dials: an order dialled while already live (the shared file), and orders whose
  attempt count differs from ``calls_count`` (the database). Both must be 0;
- the workers' CPU per attempt.

The after-call work. Every order here ends after its one attempt, so each goes to
``post_processing`` with an ``analyse_call`` job enqueued in the attempt's transaction,
and ``openrevox worker`` runs a job runner next to its dispatcher that completes them
(analysis, notifications: measured on its own by ``bench/postcall.py``). Two ways to run
a scenario, ``backend:workers[:mode]``:

- ``worker`` (the default): ``openrevox worker`` processes, as deployed. The job runner's
  work competes with dialling for the CPU, the database and the connection pool; the
  scenario ends when every order is ``completed``, and ``all done`` gives the seconds
  until then (the runner may lag behind the dialling: its backlog is not counted in
  attempts/s, which is the dispatcher's figure);
- ``alone``: the same processes running the dispatcher only (no job runner), ending
  when no order is due or ``calling`` (the orders stay ``post_processing``). The
  difference with ``worker`` is what the after-call work costs the dispatcher.

The issue's target (200 attempts/s on PostgreSQL with four workers) is read on
``postgresql:4`` (``worker`` mode: the runner's work present); ``alone`` says how much
of the gap is the after-call work.

    .venv/bin/python bench/dispatch.py
    .venv/bin/python bench/dispatch.py --calls 2000 --scenarios postgresql:4 postgresql:4:alone
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


DUE_OR_LIVE = ("scheduled", "queued_for_calling", "calling")


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
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

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
            f"  all done {self.wall_secs:.1f} s\n"
            f"{'':<16} load average {_load(self.load_before)} before, "
            f"{_load(self.load_after)} after"
        )


def _load(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


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


def start_workers(count: int, env: dict[str, str], mode: str) -> list[subprocess.Popen[bytes]]:
    command = (
        [sys.executable, "-m", "openrevox", "worker"]
        if mode == "worker"
        else [sys.executable, __file__, "--dispatcher-process"]
    )
    return [subprocess.Popen(command, env=env) for _ in range(count)]


async def dispatcher_process() -> None:
    """``alone`` mode: one dispatcher without the job runner, until SIGTERM."""
    from openrevox.config import Settings
    from openrevox.scheduler.dispatcher import Dispatcher
    from openrevox.scheduler.service import telephony_for

    settings = Settings()
    db = Database(settings.database_url, pool_size=settings.database_pool_size)
    dispatcher = Dispatcher(db, settings, telephony_for(settings, db))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, dispatcher.stop)
    try:
        await dispatcher.run()
    finally:
        await db.dispose()


async def _unfinished(db: Database, mode: str) -> int:
    left = Call.status != "completed" if mode == "worker" else Call.status.in_(DUE_OR_LIVE)
    async with db.read() as session:
        count = await session.scalar(select(func.count()).select_from(Call).where(left))
    return int(count or 0)


async def scenario(
    backend: str,
    workers: int,
    calls: int,
    limit: int,
    batch: int,
    within_secs: float,
    ring_secs: float = 0.0,
    mode: str = "worker",
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
                load_before = os.getloadavg()
                started = time.perf_counter()
                cpu_before = _children_cpu()
                procs = start_workers(workers, env, mode)
                try:
                    deadline = started + within_secs
                    while time.perf_counter() < deadline:
                        if not await _unfinished(db, mode):
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
                    scenario=f"{backend} x{workers}" + ("" if mode == "worker" else " alone"),
                    attempts=int(attempts),
                    span_secs=span,
                    wall_secs=wall,
                    peak=int(seen["peak"]),
                    limit=limit,
                    double_dials=int(seen["double_dials"]),
                    mismatched=int(mismatched or 0),
                    unfinished=await _unfinished(db, mode),
                    worker_cpu_secs=cpu,
                    load_before=load_before,
                    load_after=os.getloadavg(),
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
        default=["sqlite:1", "postgresql:1", "postgresql:4", "postgresql:4:alone"],
        help="backend:workers[:mode], mode worker (openrevox worker: dispatcher and job "
        "runner, the default) or alone (the dispatcher only)",
    )
    parser.add_argument("--dispatcher-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if args.dispatcher_process:
        asyncio.run(dispatcher_process())
        return
    results: list[Figures] = []
    print(
        f"{args.calls} due calls to {', '.join(NUMBERS)}; organization limit {args.limit}; "
        f"ringing {args.ring_secs} s"
    )
    for spec in args.scenarios:
        backend, _, rest = spec.partition(":")
        count, _, mode = rest.partition(":")
        if mode not in ("", "worker", "alone"):
            raise SystemExit(f"unknown mode {mode!r} in {spec!r}: worker or alone")
        figures = asyncio.run(
            scenario(
                backend,
                int(count or 1),
                args.calls,
                args.limit,
                args.batch,
                args.timeout,
                args.ring_secs,
                mode or "worker",
            )
        )
        results.append(figures)
        print(figures.line(), flush=True)
    for f in results:
        if f.scenario.startswith("postgresql x4"):
            verdict = "met" if f.rate >= TARGET else "NOT met"
            how = "dispatcher alone" if f.scenario.endswith("alone") else "with the job runner"
            print(
                f"target {TARGET:.0f} attempts/s on PostgreSQL with four workers ({how}): "
                f"{verdict} ({f.rate:.0f})"
            )
    if any(f.double_dials or f.mismatched for f in results):
        print("DOUBLE DIALS: the dispatcher dialled an order twice at once")
        sys.exit(1)
    if args.json:
        print(json.dumps([f.__dict__ for f in results]))


if __name__ == "__main__":
    main()
