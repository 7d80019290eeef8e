"""Throughput and latency of PATCH and GET /assistants/{id}, next to a bare-FastAPI ceiling.

Each figure is measured against a real ``openrevox serve`` process (SQLite, then PostgreSQL)
with wrk at a fixed concurrency: a warm-up, then a measured run. The ceiling is
bench/ceiling.py, a bare FastAPI app run by the same ``uvicorn.run`` call and loaded the same
way; every result is printed as a share of the ceiling for the same method.

With two CPUs or more the server is pinned to CPU 0 and wrk to CPU 1 (taskset): on a 2-CPU
machine that gave steadier and higher figures than letting them share. Without wrk the load
comes from an asyncio + httpx generator in this process (uvloop, one client per connection),
which costs far more per request than wrk: it caps the ceiling (about 1,200 req/s instead of
6,000 here), so shares overstate the server; the output says so.

    make bench
    .venv/bin/python bench/api.py --duration 10 --connections 32 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
import uvloop
from sqlalchemy.engine import make_url

from openrevox.testing import postgres
from openrevox.testing.server import RunningServer, create_key, free_port, running_server

HERE = Path(__file__).resolve().parent
METHODS = ("PATCH", "GET")
BACKENDS = ("sqlite", "postgresql")
TARGET_SHARE = 0.40  # PATCH throughput, as a share of the ceiling's
TARGET_P99_MS = 25.0
SERVER_CPU, LOAD_CPU = 0, 1
ASSISTANT = {
    "name": "Bench",
    "prompt": "You are a helpful agent.",
    "first_sentence": "Hello!",
    "faq_items": [
        {
            "question": f"Question {n}: what are your opening hours on public holidays?",
            "answer": "We are open from 9 am to 1 pm on public holidays, except on Christmas "
            "Day and New Year's Day, when the office is closed. Calls received while we are "
            "closed are returned the next working day, in the order they came in.",
        }
        for n in range(3)
    ],
}


@dataclass(frozen=True)
class Options:
    duration: int
    warmup: int
    connections: int
    backends: tuple[str, ...]
    pin: bool
    generator: str  # "wrk" or "httpx"


@dataclass(frozen=True)
class Target:
    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="measured seconds (10)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up seconds (5)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (32)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="sqlite,postgresql")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin CPUs")
    parser.add_argument(
        "--generator", choices=("wrk", "httpx"), help="load generator (wrk when installed)"
    )
    args = parser.parse_args(argv)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    if unknown := set(backends) - set(BACKENDS):
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    generator = args.generator or ("wrk" if shutil.which("wrk") else "httpx")
    pin = args.pin and (os.cpu_count() or 1) > 1 and shutil.which("taskset") is not None
    return Options(args.duration, args.warmup, args.connections, backends, pin, generator)


# ---- load generators ----


def patch_body(n: int) -> bytes:
    """The n-th PATCH body: a new prompt or a new first sentence (as bench/assistant.lua)."""
    if n % 2 == 0:
        return b'{"prompt":"You are a helpful agent (revision %d)."}' % n
    return b'{"first_sentence":"Hello, this is revision %d."}' % n


def load(target: Target, method: str, seconds: int, options: Options) -> Result:
    if options.generator == "wrk":
        return wrk(target, method, seconds, options)
    return httpx_load(target, method, seconds, options)


def wrk(target: Target, method: str, seconds: int, options: Options) -> Result:
    """One wrk run (one thread) with bench/assistant.lua; its ``done`` prints the figures."""
    headers = [arg for name, value in target.headers.items() for arg in ("-H", f"{name}: {value}")]
    command = [
        *pinned(LOAD_CPU, options),
        "wrk",
        "--threads=1",
        f"--connections={options.connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={HERE / 'assistant.lua'}",
        *headers,
        target.url,
        "--",
        method,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("WRK "))
    fields = {k: int(v) for k, v in (field.split("=") for field in line.split()[1:])}
    return Result(
        requests=fields["requests"],
        seconds=fields["duration_us"] / 1e6,
        p50_ms=fields["p50_us"] / 1e3,
        p99_ms=fields["p99_us"] / 1e3,
        errors=fields["errors"],
    )


def httpx_load(target: Target, method: str, seconds: int, options: Options) -> Result:
    """The fallback: ``connections`` asyncio workers in this process, each with an httpx client."""
    previous = os.sched_getaffinity(0)
    if options.pin:
        os.sched_setaffinity(0, {LOAD_CPU})
    try:
        return uvloop.run(_httpx_load(target, method, seconds, options.connections))
    finally:
        os.sched_setaffinity(0, previous)


async def _httpx_load(target: Target, method: str, seconds: int, connections: int) -> Result:
    latencies: list[float] = []
    errors = 0
    numbers = itertools.count()

    async def worker(deadline: float) -> None:
        nonlocal errors
        # One client per connection: a shared pool serialises the workers on its lock.
        async with httpx.AsyncClient(headers=target.headers, timeout=10.0) as client:
            while time.perf_counter() < deadline:
                body = patch_body(next(numbers)) if method == "PATCH" else None
                start = time.perf_counter()
                response = await client.request(method, target.url, content=body)
                latencies.append(time.perf_counter() - start)
                errors += response.status_code >= 400

    started = time.perf_counter()
    await asyncio.gather(*(worker(started + seconds) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Result(len(latencies), elapsed, cuts[49] * 1e3, cuts[98] * 1e3, errors)


def measure(target: Target, method: str, options: Options) -> Result:
    """A warm-up run whose figures are dropped, then the measured run."""
    if options.warmup > 0:
        load(target, method, options.warmup, options)
    return load(target, method, options.duration, options)


# ---- servers ----


def pinned(cpu: int, options: Options) -> list[str]:
    """The command prefix that runs a program on one CPU, when pinning."""
    return ["taskset", "--cpu-list", str(cpu)] if options.pin else []


def pin_process(pid: int, options: Options) -> None:
    """Move every thread of a running process to the server's CPU, when pinning."""
    if options.pin:
        command = ["taskset", "--all-tasks", "--cpu-list", "--pid", str(SERVER_CPU), str(pid)]
        subprocess.run(command, check=True, capture_output=True)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered on {url} within {timeout} s")


@contextmanager
def ceiling_server() -> Iterator[RunningServer]:
    """bench/ceiling.py on a free port."""
    port = free_port()
    command = [sys.executable, str(HERE / "ceiling.py"), "--port", str(port)]
    with subprocess.Popen(command) as process:
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base_url, process)
            yield RunningServer(base_url, process)
        finally:
            process.terminate()
            process.wait(timeout=10)


def create_assistant(base_url: str, key: str) -> tuple[Target, int]:
    """One assistant to hammer; returns its target and the size of its JSON."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    created = httpx.post(f"{base_url}/assistants", json=ASSISTANT, headers=headers)
    created.raise_for_status()
    target = Target(f"{base_url}/assistants/{created.json()['assistant']['id']}", headers)
    httpx.patch(target.url, content=patch_body(0), headers=headers).raise_for_status()
    fetched = httpx.get(target.url, headers=headers)
    fetched.raise_for_status()
    return target, len(fetched.content)


# ---- the runs ----


def measure_ceiling(options: Options) -> dict[str, Result]:
    with ceiling_server() as server:
        pin_process(server.process.pid, options)
        headers = {"Authorization": "Bearer ceiling", "Content-Type": "application/json"}
        target = Target(f"{server.base_url}/assistants/ceiling", headers)
        size = len(httpx.get(target.url).content)
        print(f"ceiling: bare FastAPI app (bench/ceiling.py), fixed {size / 1024:.1f} KB JSON")
        results = {method: measure(target, method, options) for method in METHODS}
    for method, result in results.items():
        print(f"  {method:<5} ceiling:    {figures(result)}")
    return results


def bench_database(
    label: str, database_url: str, options: Options, ceiling: dict[str, Result]
) -> None:
    key = create_key(database_url, "Bench", "bench@example.com")
    with running_server(database_url) as server:
        pin_process(server.process.pid, options)
        target, size = create_assistant(server.base_url, key)
        print(f"{label}: openrevox serve, one assistant of {size / 1024:.1f} KB JSON")
        for method in METHODS:
            result = measure(target, method, options)
            print(f"  {method:<5} {label + ':':<11} {compared(method, result, ceiling[method])}")


def bench_sqlite(options: Options, ceiling: dict[str, Result]) -> None:
    with tempfile.TemporaryDirectory(prefix="openrevox-bench-") as folder:
        bench_database("sqlite", f"sqlite+aiosqlite:///{folder}/bench.db", options, ceiling)


def bench_postgresql(options: Options, ceiling: dict[str, Result]) -> None:
    where = make_url(postgres.admin_url()).render_as_string(hide_password=True)
    if reason := asyncio.run(postgres.reachable()):
        print(f"postgresql: SKIPPED, not reachable at {where} ({reason})")
        return

    async def run() -> None:
        async with postgres.scratch_database() as url:
            await asyncio.to_thread(bench_database, "postgresql", url, options, ceiling)

    asyncio.run(run())


# ---- output ----


def figures(result: Result) -> str:
    text = f"{result.rate:6.0f} req/s, p50 {result.p50_ms:5.1f} ms, p99 {result.p99_ms:5.1f} ms"
    return text + (f", {result.errors} ERRORS" if result.errors else "") + load_average()


def load_average() -> str:
    """The machine's 1-minute load average when a figure is taken: other work on a
    shared machine moves the figures."""
    return f" (load {os.getloadavg()[0]:.2f})"


def compared(method: str, result: Result, ceiling: Result) -> str:
    share = result.rate / ceiling.rate
    text = f"{figures(result)}, {share:4.0%} of ceiling"
    if method == "PATCH":
        met = share >= TARGET_SHARE and result.p99_ms < TARGET_P99_MS
        goal = f"target >= {TARGET_SHARE:.0%} of ceiling and p99 < {TARGET_P99_MS:.0f} ms"
        text += f"  [{goal}: {'met' if met else 'MISSED'}]"
    return text


def describe(options: Options) -> None:
    stack = [name for name in ("uvloop", "httptools") if importlib.util.find_spec(name)]
    print("openrevox benchmark: PATCH and GET /assistants/{id}")
    print(
        f"server: one process, uvicorn {uvicorn.__version__} ({' + '.join(stack) or 'asyncio'}), "
        "access log off, as `openrevox serve`"
    )
    print(
        f"load: {generator_name(options)}, {options.connections} keep-alive connections; "
        f"{options.warmup} s warm-up, then {options.duration} s measured, per figure"
    )
    if options.pin:
        print(
            f"cpus: {os.cpu_count()}; pinned with taskset: server on CPU {SERVER_CPU}, "
            f"load on CPU {LOAD_CPU} (PostgreSQL's own processes are not pinned)"
        )
    else:
        print(f"cpus: {os.cpu_count()}; not pinned: server and load share every CPU")
    print("shares are of the ceiling's throughput for the same method")


def generator_name(options: Options) -> str:
    if options.generator == "httpx":
        return (
            "NO WRK: fallback asyncio + httpx generator in this process, far costlier than wrk:"
            " it bounds the ceiling, so shares overstate the server"
        )
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    return f"wrk {version}, 1 thread"


def main(argv: list[str] | None = None) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    options = parse_args(argv)
    describe(options)
    ceiling = measure_ceiling(options)
    runs = {"sqlite": bench_sqlite, "postgresql": bench_postgresql}
    for backend in options.backends:
        runs[backend](options, ceiling)


if __name__ == "__main__":
    main()
