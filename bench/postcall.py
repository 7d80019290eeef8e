"""After the call: completed calls through analysis and webhook delivery, timed at the receiver.

Per backend (``--backends``), a fresh migrated database (a SQLite file, or a scratch
PostgreSQL database), one organization and 2 x N orders (``--calls``) whose assistant has
a ``webhook_url`` and whose attempt has a transcript, so the analysis really asks the LLM.
The LLM and the webhook receiver are one tiny asyncio HTTP server (raw HTTP/1.1,
keep-alive, uvloop) in a child process (``postcall.py serve``): the LLM answers a valid
analysis JSON at once; the receiver answers 200 and reports the time of arrival
(``time.monotonic``, the same clock in every process) and the ``X-Openrevox-Event-Id``
of each POST. The shipped ``FakeOpenAI`` (a ThreadingHTTPServer, a thread per request)
was not used: in this process its threads would contend with the job runner for the
interpreter, and an asyncio responder costs less CPU on this 2-core machine.

An order "hangs up" as the dispatcher ends it: status ``post_processing`` and
``begin_post_processing`` in one write transaction, then the in-process runner is woken
(the dispatcher's ``after_finish``); the hang-up time is taken when that transaction has
committed. Two phases, each with N fresh orders:

- burst: N orders hang up at once (one transaction): deliveries/s and analyses/s, the
  throughput. Its latencies mostly measure queueing behind the other N - 1 calls.
- paced: N orders hang up one by one at ``--rate`` calls/s (each its own transaction):
  hang-up -> webhook received, p50 / p95 / max, under a steady arrival rate. This is the
  figure the target is about: p95 under 1 s on PostgreSQL.

Job runners (``post_call_kinds()``, ``--concurrency`` jobs at once each): one in this
process, plus ``--workers`` - 1 child processes running only a ``JobRunner`` (they find
work by polling, every ``--poll`` s, as another worker process would). Printed per phase:
calls, wall time, deliveries/s, analyses/s, latency p50/p95/max, failed jobs and retried
tries (both must be 0), duplicate event ids, orders not completed, and the load average.

Found while writing it: every webhook try took the organization's row lock in a write
transaction to read the signing secret (``services/webhook_secrets.webhook_secret``), so
all of an organization's webhooks queued on one row (and on SQLite's write lock); the
delivery now reads the secret, and takes the lock only to make a missing one. On this
shared 2-core machine the change was within the run-to-run noise of the figures (the
runner is CPU-bound in this process: SQLAlchemy and asyncpg, not waiting on locks).

    .venv/bin/python bench/postcall.py
    .venv/bin/python bench/postcall.py --calls 100 --backends postgresql --rate 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, update

from openrevox.config import Settings
from openrevox.jobs import JobRunner
from openrevox.postcall.flow import begin_post_processing
from openrevox.postcall.kinds import post_call_kinds
from openrevox.scheduler.testing import organization, place, place_many
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.storage.models import Call, CallAttempt, Job, JobTry, new_id, utcnow
from openrevox.testing import postgres

BACKENDS = ("sqlite", "postgresql")
TARGET_P95_SECS = 1.0  # hang-up -> webhook received, paced, PostgreSQL
HUMAN = "+12025550100"
ANALYSIS = {
    "summary": "Ann wants a demo next week; her budget is 5000 dollars.",
    "outcome": "interested",
    "outcome_summary": "Asked for a demo.",
    "structured_output": {"budget": 5000},
    "contact": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"},
}
TRANSCRIPT = [
    {"role": "assistant", "content": "Hello Ann, this is Ava from Acme."},
    {"role": "user", "content": "Hi! I would like a demo next week. My budget is 5000."},
    {"role": "assistant", "content": "Great, I will send you an invite. Goodbye!"},
]


# ---- the LLM and the webhook receiver, in a child process ----

_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "model": "bench-analyst",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(ANALYSIS)},
                "finish_reason": "stop",
            }
        ],
    }
).encode()


def _response(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    llm_answer, hook_answer = _response(_COMPLETION), _response(b"")
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1] if " " in lines[0] else ""
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            if path.endswith("/chat/completions"):
                writer.write(llm_answer)
            else:
                at = time.monotonic()
                event_id = headers.get("x-openrevox-event-id", "-")
                sys.stdout.write(f"HOOK {event_id} {at:.6f}\n")
                sys.stdout.flush()
                writer.write(hook_answer)
            await writer.drain()
    finally:
        writer.close()


def serve() -> None:
    """``postcall.py serve``: print ``URL <base>`` and serve until stdin closes."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        server = await asyncio.start_server(_serve_connection, "127.0.0.1", 0, backlog=1024)
        port = server.sockets[0].getsockname()[1]
        print(f"URL http://127.0.0.1:{port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(main())


class Servers:
    """The child process; ``arrivals`` maps event id -> the monotonic times it arrived."""

    def __init__(self) -> None:
        self.base_url = ""
        self.arrivals: dict[str, list[float]] = {}
        self.received = 0
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Servers:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "serve", stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self._process.stdout is not None
        line = (await asyncio.wait_for(self._process.stdout.readline(), 30)).decode().split()
        if not line or line[0] != "URL":
            raise RuntimeError(f"the bench servers did not start: {line}")
        self.base_url = line[1]
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            kind, event_id, at = line.decode().split()
            if kind == "HOOK":
                self.arrivals.setdefault(event_id, []).append(float(at))
                self.received += 1
                self._changed.set()

    async def wait_for(self, count: int, within: float) -> bool:
        deadline = time.monotonic() + within
        while self.received < count:
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return False
        return True

    async def __aexit__(self, *_: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), 5)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
        self._reader.cancel()


# ---- job runners in child processes ----


def run_worker(url: str, settings_json: str, name: str) -> None:
    """``postcall.py worker URL SETTINGS NAME``: only a JobRunner, until SIGTERM."""
    import signal

    async def main() -> None:
        settings = Settings.model_validate_json(settings_json)
        db = Database(url, pool_size=settings.database_pool_size)
        runner = JobRunner(db, settings, post_call_kinds(), worker_id=name)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, runner.stop)
        try:
            await runner.run()
        finally:
            await db.dispose()

    asyncio.run(main())


# ---- the scenario ----


@dataclass
class Phase:
    name: str
    calls: int
    wall_secs: float = 0.0
    hangups_per_sec: float = 0.0  # achieved (0: all at once)
    latencies: list[float] = field(default_factory=list)
    deliveries_per_sec: float = 0.0
    analyses_per_sec: float = 0.0
    failed_jobs: int = 0
    failed_tries: int = 0
    duplicates: int = 0
    missing: int = 0
    not_completed: int = 0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Options:
    calls: int
    rate: float
    backends: tuple[str, ...]
    workers: int
    concurrency: int
    poll: float
    timeout: float


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


async def make_orders(db: Database, webhook_url: str, count: int) -> list[str]:
    """``count`` orders with an answered attempt holding a transcript, ready to end."""
    org = await organization(db)
    first = await place(
        db,
        org,
        HUMAN,
        webhook_url=webhook_url,
        structured_output_config=[{"name": "budget", "type": "number", "required": False}],
    )
    ids = [first, *await place_many(db, first, [HUMAN] * (count - 1))]
    now = utcnow()
    for start in range(0, len(ids), 500):
        async with db.write() as session:
            for call_id in ids[start : start + 500]:
                session.add(
                    CallAttempt(
                        id=new_id(),
                        call_id=call_id,
                        attempt_number=1,
                        status="completed",
                        result="human",
                        phone_number=HUMAN,
                        started_at=now,
                        answered_at=now,
                        ended_at=now,
                        transcript=TRANSCRIPT,
                        provider="simulated",
                    )
                )
            await session.execute(
                update(Call)
                .where(Call.id.in_(ids[start : start + 500]))
                .values(status="calling", calls_count=1, result="human")
            )
    return ids


async def hang_up(db: Database, call_ids: list[str]) -> float:
    """End orders as the dispatcher does (one transaction); the monotonic time after it."""
    async with db.write() as session:
        now = utcnow()
        await session.execute(
            update(Call)
            .where(Call.id.in_(call_ids))
            .values(status="post_processing", updated_at=now)
        )
        for call_id in call_ids:
            organization_id = await session.scalar(
                select(Call.organization_id).where(Call.id == call_id)
            )
            assert organization_id is not None
            await begin_post_processing(
                session, call_id=call_id, organization_id=organization_id, now=now
            )
    return time.monotonic()


async def measure(
    phase: Phase,
    db: Database,
    servers: Servers,
    hung_up: dict[str, float],
    expected: int,
    started_wall: float,
) -> None:
    """Fill ``phase`` from the receiver's arrivals and the database."""
    ids = list(hung_up)
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Job.id, Job.call_id, Job.kind, Job.status, Job.finished_at).where(
                    Job.call_id.in_(ids)
                )
            )
        ).all()
        failed_tries = await session.scalar(
            select(func.count())
            .select_from(JobTry)
            .join(Job, Job.id == JobTry.job_id)
            .where(Job.call_id.in_(ids), JobTry.ok.is_(False))
        )
        not_completed = await session.scalar(
            select(func.count())
            .select_from(Call)
            .where(Call.id.in_(ids), Call.status != "completed")
        )
    hooks = {row.id: row.call_id for row in rows if row.kind == "webhook"}
    first_at = min(hung_up.values())
    last_arrival = first_at
    for event_id, call_id in hooks.items():
        times = servers.arrivals.get(event_id)
        if not times:
            continue
        phase.latencies.append(times[0] - hung_up[call_id])
        last_arrival = max(last_arrival, times[0])
        if len(times) > 1:
            phase.duplicates += len(times) - 1
    span = last_arrival - first_at
    phase.deliveries_per_sec = len(phase.latencies) / span if span > 0 else 0.0
    analysed = [row.finished_at for row in rows if row.kind == "analyse_call" and row.finished_at]
    if analysed:
        first_wall = started_wall
        last = max(analysed)
        last_wall = last.timestamp() if last.tzinfo else last.replace(tzinfo=None).timestamp()
        analysis_span = last_wall - first_wall
        phase.analyses_per_sec = len(analysed) / analysis_span if analysis_span > 0 else 0.0
    phase.failed_jobs = sum(1 for row in rows if row.status == "failed")
    phase.failed_tries = int(failed_tries or 0)
    phase.missing = expected - len(phase.latencies)
    phase.not_completed = int(not_completed or 0)
    phase.load = os.getloadavg()
    hang_span = max(hung_up.values()) - first_at
    phase.hangups_per_sec = (len(hung_up) - 1) / hang_span if hang_span > 0 else 0.0


async def run_backend(backend: str, options: Options) -> list[Phase]:
    with tempfile.TemporaryDirectory() as tmp:
        async with database(backend, Path(tmp)) as url, Servers() as servers:
            await upgrade_async(url)
            settings = Settings(
                database_url=url,
                analysis_base_url=f"{servers.base_url}/v1",
                analysis_model="bench-analyst",
                jobs_poll_interval_secs=options.poll,
                jobs_max_concurrent=options.concurrency,
                log_level="warning",
            )
            db = Database(url, pool_size=settings.database_pool_size)
            children: list[asyncio.subprocess.Process] = []
            try:
                webhook_url = f"{servers.base_url}/hooks/revox"
                burst_ids = await make_orders(db, webhook_url, options.calls)
                paced_ids = await make_orders(db, webhook_url, options.calls)
                runner = JobRunner(db, settings, post_call_kinds(), worker_id="bench-0")
                runner_task = asyncio.create_task(runner.run())
                for n in range(1, options.workers if backend == "postgresql" else 1):
                    children.append(
                        await asyncio.create_subprocess_exec(
                            sys.executable,
                            __file__,
                            "worker",
                            url,
                            settings.model_dump_json(),
                            f"bench-{n}",
                        )
                    )
                phases: list[Phase] = []
                try:
                    # Burst: every order hangs up at once.
                    burst = Phase("burst", options.calls)
                    wall0 = time.time()
                    at = await hang_up(db, burst_ids)
                    runner.wake()
                    ok = await servers.wait_for(options.calls, options.timeout)
                    burst.wall_secs = time.monotonic() - at
                    await _settled(db, burst_ids)
                    await measure(
                        burst, db, servers, dict.fromkeys(burst_ids, at), options.calls, wall0
                    )
                    if not ok:
                        print(f"  burst: timed out after {options.timeout} s")
                    phases.append(burst)

                    # Paced: one order hangs up every 1 / rate s.
                    paced = Phase(f"paced {options.rate:g}/s", options.calls)
                    hung_up: dict[str, float] = {}
                    before = servers.received
                    wall0 = time.time()
                    start = time.monotonic()
                    for n, call_id in enumerate(paced_ids):
                        due = start + n / options.rate
                        delay = due - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        hung_up[call_id] = await hang_up(db, [call_id])
                        runner.wake()
                    ok = await servers.wait_for(before + options.calls, options.timeout)
                    paced.wall_secs = time.monotonic() - start
                    await _settled(db, paced_ids)
                    await measure(paced, db, servers, hung_up, options.calls, wall0)
                    if not ok:
                        print(f"  paced: timed out after {options.timeout} s")
                    phases.append(paced)
                finally:
                    runner.stop()
                    await runner_task
                    for child in children:
                        child.terminate()
                    for child in children:
                        await asyncio.wait_for(child.wait(), 30)
                return phases
            finally:
                await db.dispose()


async def _settled(db: Database, call_ids: list[str], within: float = 10.0) -> None:
    """Wait until the webhook jobs' successes are recorded (just after the receiver)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with db.read() as session:
            left = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.call_id.in_(call_ids), Job.status.in_(("pending", "running")))
            )
        if not left:
            return
        await asyncio.sleep(0.05)


def line(backend: str, phase: Phase) -> str:
    return (
        f"{backend:<11} {phase.name:<12} {phase.calls:>5} "
        f"{f'{phase.hangups_per_sec:.1f}' if phase.hangups_per_sec else 'at once':>8} "
        f"{phase.wall_secs:7.2f} s "
        f"{phase.deliveries_per_sec:8.1f} {phase.analyses_per_sec:8.1f}  "
        f"{phase.pct(0.5) * 1000:7.0f} {phase.pct(0.95) * 1000:7.0f} "
        f"{(max(phase.latencies) if phase.latencies else float('nan')) * 1000:7.0f}   "
        f"{phase.failed_jobs:>3}/{phase.failed_tries:<3} {phase.duplicates:>4} {phase.missing:>4} "
        f"{phase.not_completed:>4}   {phase.load[0]:.2f} {phase.load[1]:.2f} {phase.load[2]:.2f}"
    )


HEADER = (
    f"{'backend':<11} {'phase':<12} {'calls':>5} {'hangup/s':>8} {'wall':>9} "
    f"{'hooks/s':>8} {'anal./s':>8}  "
    f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}   {'fail/retry':<7} {'dup':>4} {'miss':>4} "
    f"{'open':>4}   load avg"
)


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="orders per phase")
    parser.add_argument("--rate", type=float, default=50.0, help="hang-ups/s, paced phase")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument(
        "--workers", type=int, default=1, help="job runners on PostgreSQL (1 in this process)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="jobs_max_concurrent")
    parser.add_argument("--poll", type=float, default=0.5, help="jobs_poll_interval_secs")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    return Options(
        calls=max(1, args.calls),
        rate=args.rate,
        backends=tuple(args.backends),
        workers=max(1, args.workers),
        concurrency=args.concurrency,
        poll=args.poll,
        timeout=args.timeout,
    )


def main(argv: list[str] | None = None) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    options = parse_args(argv)
    print(
        f"openrevox benchmark: after-call flow, {options.calls} calls per phase, analysis "
        f"LLM answering at once, webhook to a local receiver; {os.cpu_count()} cpus; "
        f"job runner: {options.concurrency} jobs at once, poll {options.poll} s; "
        f"PostgreSQL runners: {options.workers}"
    )
    print(
        "burst: every call hangs up at once (throughput; its latencies are queueing); "
        f"paced: {options.rate:g} hang-ups/s (the latency target)"
    )
    print("latency: hang-up committed -> webhook received at the receiver")
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(HEADER)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    results: dict[str, list[Phase]] = {}
    for backend in options.backends:
        phases = asyncio.run(run_backend(backend, options))
        results[backend] = phases
        for phase in phases:
            print(line(backend, phase))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"bench process CPU: {cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime:.1f} s"
    )
    bad = False
    for backend, phases in results.items():
        for phase in phases:
            if phase.failed_jobs or phase.failed_tries or phase.missing or phase.not_completed:
                print(
                    f"PROBLEM on {backend} {phase.name}: failed jobs, retries, or missing webhooks"
                )
                bad = True
    for phase in results.get("postgresql", []):
        if phase.name.startswith("paced"):
            met = phase.pct(0.95) < TARGET_P95_SECS and not phase.missing
            print(
                f"PostgreSQL, paced {options.rate:g}/s: p95 hang-up -> webhook under "
                f"{TARGET_P95_SECS:g} s: {'MET' if met else 'NOT MET'} "
                f"(p95 {phase.pct(0.95) * 1000:.0f} ms)"
            )
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve()
    elif len(sys.argv) > 1 and sys.argv[1] == "worker":
        run_worker(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
