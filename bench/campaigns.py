"""Campaigns at scale: create 100,000 contacts, launch them, statistics, export.

Each backend gets a fresh database (SQLite file, or a scratch PostgreSQL database), one
organization and an assistant that may call at any time. Then, timed one after another
through the service functions the routes call (``services/campaigns.py``,
``services/campaign_statistics.py``, ``services/campaign_export.py``), each in its own
transaction as the route runs it:

- create: the request body (JSON bytes, made before the clock starts) parsed and
  checked in a worker thread as ``POST /campaigns`` does (``api/bodies.py``), then
  ``campaigns.create`` and the commit;
- launch: ``campaigns.launch`` of every row (``ai_first``, now) and the commit;
- statistics: every call is then finished in bulk (not timed: outcomes, results and
  1-3 attempts by row, 1 % inbound calls, 3 % joined by a person), and
  ``campaign_statistics.statistics`` is timed: the first run, and the median of
  ``--repeat`` more;
- export: ``campaign_export.plan`` and every chunk of ``csv_chunks``, read to the end.

Memory, per step: **peak RSS growth** = the process's high-water mark during the step
(``VmHWM``, reset through ``/proc/self/clear_refs`` before it) minus its RSS before it.
With ``--tracemalloc``, also the tracemalloc peak (Python allocations only), which slows
every step (timings then say so).

    .venv/bin/python bench/campaigns.py
    .venv/bin/python bench/campaigns.py --contacts 5000 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import case, insert, select, text, update

from openrevox.api.bodies import parsed_json_body
from openrevox.schemas.assistants import AssistantCreate
from openrevox.schemas.campaigns import (
    CampaignCreate,
    CampaignLaunch,
    FilterSelection,
    RowSelection,
    Selection,
)
from openrevox.services import assistants, auth, campaign_export, campaign_statistics, campaigns
from openrevox.services.auth import Principal
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.storage.models import Call, CallAttempt, CampaignRow, new_id
from openrevox.testing import postgres

BACKENDS = ("sqlite", "postgresql")
TARGETS_SECS = {"create": 10.0, "launch": 10.0, "statistics": 0.5, "export": 5.0}
WEEK = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ALWAYS = {
    "allowed_days": WEEK,
    "call_twice_in_a_row": False,
    "calling_windows": [
        {
            "calling_window_start_time": "00:00",
            "calling_window_end_time": "24:00",
            "retry_delay_seconds": 60,
        }
    ],
    "max_retry_attempts": 3,
}
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
T = TypeVar("T")


@dataclass
class Step:
    name: str
    secs: float
    rss_mb: float | None
    traced_mb: float | None = None
    detail: str = ""

    @property
    def target(self) -> float:
        return TARGETS_SECS[self.name]


# ---- measuring ----


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


PROFILED: set[str] = set()  # --profile: steps run under cProfile (their times inflated)


def _profile_report(name: str, profile: cProfile.Profile) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).sort_stats("cumulative")
    stats.print_stats(25)
    print(f"--- cProfile of {name} (cumulative, top 25) ---")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


async def measured(name: str, action: Callable[[], Awaitable[T]], trace: bool) -> tuple[T, Step]:
    profile = cProfile.Profile() if name in PROFILED else None
    resettable = _reset_peak()
    before = _status_kb("VmRSS")
    max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    result = await action()
    if profile is not None:
        profile.disable()
        _profile_report(name, profile)
    secs = time.perf_counter() - started
    traced = None
    if trace:
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    if resettable and before is not None:
        peak = _status_kb("VmHWM") or before
        rss: float | None = max(0, peak - before) / 1024
    else:  # the peak since the process started: only growth beyond it shows
        rss = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - max_before) / 1024
    return result, Step(name, secs, rss, traced)


# ---- the database and its contents ----


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


async def setup(db: Database) -> tuple[Principal, str]:
    async with db.write() as session:
        issued = await auth.issue_key(
            session, organization_name="Bench", email="bench@example.com", country="FR"
        )
    async with db.read() as session:
        principal = await auth.authenticate(session, issued.key)
    body = AssistantCreate.model_validate(
        {
            "name": "Bench agent",
            "prompt": "You call {{first_name}} about {{company}}.",
            "call_retry_config": ALWAYS,
            "structured_output_config": [
                {"name": "email", "type": "string", "required": False},
                {"name": "budget", "type": "number", "required": False},
            ],
        }
    )
    async with db.write() as session:
        view = await assistants.create(session, principal, body)
    return principal, view.assistant.id


def number(i: int) -> str:
    return f"+3361{i:07d}"


async def finish_every_call(db: Database, campaign_id: str, organization_id: str) -> int:
    """Every call of the campaign completed, by its row index: outcomes, results and
    attempts in the proportions of a real campaign; 1 % more calls come in. Bulk SQL."""
    index = (
        select(CampaignRow.row_index % 20).where(CampaignRow.call_id == Call.id).scalar_subquery()
    )
    # 0-3: never answered (3 dials), 4-5: voicemail (2), 6: human silent, 7-9 not
    # interested, 10-12 interested, 13-14 callback, 15-17 completed, 18-19 voicemail.
    outcome = case(
        (index.between(7, 9), "not_interested"),
        (index.between(10, 12), "interested"),
        (index.between(13, 14), "requested_callback_later"),
        (index.between(15, 17), "completed"),
        else_=None,
    )
    result = case(
        (index.between(0, 3), None),
        (index.in_([4, 5, 18, 19]), "voicemail"),
        else_="human",
    )
    async with db.write() as session:
        await session.execute(
            update(Call)
            .where(Call.campaign_id == campaign_id)
            .values(
                status="completed",
                next_attempt_at=None,
                outcome=outcome,
                result=result,
                outcome_summary=case((outcome.is_not(None), "Talked about the offer")),
                calls_count=case((index <= 3, 3), (index.in_([4, 5]), 2), else_=1),
            )
            .execution_options(synchronize_session=False)
        )
        rows = (
            await session.execute(
                select(CampaignRow.call_id, CampaignRow.row_index, CampaignRow.phone_number)
                .where(CampaignRow.campaign_id == campaign_id)
                .order_by(CampaignRow.row_index)
            )
        ).all()
    attempts: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for call_id, row_index, phone in rows:
        kind = row_index % 20
        dials = 3 if kind <= 3 else 2 if kind in (4, 5) else 1
        counts[call_id] = dials
        for n in range(1, dials + 1):
            start = T0 + timedelta(seconds=row_index * 7 + n * 3600)
            last = n == dials
            human = last and 6 <= kind <= 17
            answered = last and kind >= 4
            attempts.append(
                {
                    "id": new_id(),
                    "call_id": call_id,
                    "attempt_number": n,
                    "status": "completed",
                    "phone_number": phone,
                    "result": "human" if human else "voicemail" if answered else None,
                    "dial_error": None if answered else "no_answer",
                    "started_at": start,
                    "answered_at": start + timedelta(seconds=4) if answered else None,
                    "ended_at": start + timedelta(seconds=30 + row_index % 240),
                    "handled_by_ai": True,
                    "handled_by_human": human and row_index % 33 == 0,
                    "created_at": start,
                    "updated_at": start,
                }
            )
    inbound_calls: list[dict[str, Any]] = []
    for i in range(0, len(rows), 100):  # 1 %: a contact calls back
        call_id, row_index, phone = rows[i]
        start = T0 + timedelta(days=2, seconds=i)
        inbound_calls.append(
            {
                "id": new_id(),
                "organization_id": organization_id,
                "assistant_snapshot": {},
                "to_phone_number": "+33198765432",
                "from_phone_number": phone,
                "direction": "inbound",
                "status": "completed",
                "scheduled_at": start,
                "campaign_id": campaign_id,
                "outcome": "interested" if i % 200 == 0 else None,
                "calls_count": 1,
                "created_at": start,
                "updated_at": start,
            }
        )
        attempts.append(
            {
                "id": new_id(),
                "call_id": inbound_calls[-1]["id"],
                "attempt_number": 1,
                "status": "completed",
                "phone_number": "+33198765432",
                "result": "human",
                "started_at": start,
                "answered_at": start + timedelta(seconds=1),
                "ended_at": start + timedelta(seconds=90),
                "handled_by_ai": True,
                "handled_by_human": False,
                "created_at": start,
                "updated_at": start,
            }
        )
    async with db.write() as session:
        for at in range(0, len(inbound_calls), 5000):
            await session.execute(insert(Call), inbound_calls[at : at + 5000])
        for at in range(0, len(attempts), 5000):
            await session.execute(insert(CallAttempt), attempts[at : at + 5000])
    await analyze(db)
    return len(attempts)


async def analyze(db: Database) -> None:
    """Planner statistics and the visibility map after the bulk load, as autovacuum
    (PostgreSQL) would have them by the time a campaign of this size is looked at;
    SQLite's ANALYZE for its planner."""
    async with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE calls"))
            await conn.execute(text("VACUUM ANALYZE call_attempts"))
            await conn.execute(text("VACUUM ANALYZE campaign_rows"))
        else:
            await conn.execute(text("ANALYZE"))
            await conn.commit()


# ---- the steps ----


async def run_backend(backend: str, contacts: int, repeat: int, trace: bool) -> list[Step]:
    with tempfile.TemporaryDirectory(prefix="openrevox-bench-") as tmp:
        async with database(backend, Path(tmp)) as url:
            await upgrade_async(url)
            db = Database(url)
            try:
                return await _steps(db, contacts, repeat, trace)
            finally:
                await db.dispose()


async def _steps(db: Database, contacts: int, repeat: int, trace: bool) -> list[Step]:
    principal, assistant_id = await setup(db)
    steps: list[Step] = []

    raw = json.dumps(
        {
            "assistant_id": assistant_id,
            "name": "Bench campaign",
            "contacts": [
                {
                    "to_phone_number": number(i),
                    "prompt_variables": {"first_name": f"Ada{i}", "company": "Acme"},
                }
                for i in range(contacts)
            ],
        }
    ).encode()

    async def create() -> str:
        body = await asyncio.to_thread(parsed_json_body, raw, "application/json", CampaignCreate)
        async with db.write() as session:
            view = await campaigns.create(session, principal, body)
        return view.campaign.id

    campaign_id, step = await measured("create", create, trace)
    steps.append(step)

    async def launch() -> int:
        body = CampaignLaunch(
            mode="ai_first",
            selection=Selection(
                rows=RowSelection(mode="all_except", call_ids=[]), filters=FilterSelection()
            ),
        )
        async with db.write() as session:
            outcome = await campaigns.launch(session, principal, campaign_id, body)
        return outcome.launched

    launched, step = await measured("launch", launch, trace)
    step.detail = f"{launched:,} calls launched"
    steps.append(step)

    made = await finish_every_call(db, campaign_id, principal.organization_id)

    async def stats() -> dict[str, Any]:
        async with db.read() as session:
            return await campaign_statistics.statistics(session, principal, campaign_id)

    figures, step = await measured("statistics", stats, trace)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await stats()
        runs.append(time.perf_counter() - started)
    funnel = figures["funnel"]
    step.detail = (
        f"first run; median of {repeat} more {1000 * statistics.median(runs):.0f} ms"
        if runs
        else "first run"
    ) + (
        f" | {made:,} attempts; called {funnel['called']['count']:,}, reached "
        f"{funnel['reached']['count']:,}, real {funnel['real_exchanges']['count']:,}, "
        f"hot {funnel['hot_leads']['count']:,}"
    )
    steps.append(step)

    async def export() -> tuple[int, int]:
        async with db.read() as session:
            plan = await campaign_export.plan(session, principal, campaign_id)
        size = lines = 0
        async with db.read() as session:
            async for chunk in campaign_export.csv_chunks(session, plan):
                size += len(chunk.encode())
                lines += chunk.count("\n")
        return size, lines

    (size, lines), step = await measured("export", export, trace)
    step.detail = f"{size / 2**20:.1f} MB CSV, {lines:,} lines"
    steps.append(step)
    return steps


# ---- output ----


def table(backend: str, contacts: int, steps: list[Step], trace: bool) -> list[str]:
    lines = [
        f"{backend}: campaign of {contacts:,} contacts",
        f"  {'step':<11} {'time':>10} {'target':>9}  {'verdict':<8} {'peak RSS +':>11}"
        + (f" {'tracemalloc':>12}" if trace else "")
        + "  detail",
    ]
    for s in steps:
        secs = f"{s.secs * 1000:.0f} ms" if s.target < 1 else f"{s.secs:.2f} s"
        target = f"< {s.target * 1000:.0f} ms" if s.target < 1 else f"< {s.target:.0f} s"
        verdict = "MET" if s.secs < s.target else "NOT MET"
        rss = f"{s.rss_mb:.0f} MB" if s.rss_mb is not None else "n/a"
        traced = f" {s.traced_mb:>9.0f} MB" if s.traced_mb is not None else ""
        lines.append(
            f"  {s.name:<11} {secs:>10} {target:>9}  {verdict:<8} {rss:>11}{traced}  {s.detail}"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts (100,000)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3, help="statistics runs after the first")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also trace Python allocations (slower)"
    )
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated steps to run under cProfile (create,launch,statistics,export); "
        "prints the top functions; those steps' times are inflated",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    PROFILED.update(p.strip() for p in args.profile.split(",") if p.strip())
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown backend {unknown[0]!r}; one of {', '.join(BACKENDS)}")
    print(
        "openrevox benchmark: campaigns (create, launch, statistics, export) through the "
        "service functions the routes call"
    )
    print(
        "memory: peak RSS + = high-water RSS during the step minus RSS before it "
        "(VmHWM reset per step)"
        + ("; tracemalloc = peak of traced Python allocations" if args.tracemalloc else "")
    )
    if args.tracemalloc:
        print("NOTE: tracemalloc is on: every time below is inflated by its overhead")
    results: dict[str, list[Step]] = {}
    for backend in backends:
        steps = asyncio.run(run_backend(backend, args.contacts, args.repeat, args.tracemalloc))
        results[backend] = steps
        print("\n".join(table(backend, args.contacts, steps, args.tracemalloc)))
    if args.json:
        print(json.dumps({b: [s.__dict__ for s in steps] for b, steps in results.items()}))


if __name__ == "__main__":
    main()
