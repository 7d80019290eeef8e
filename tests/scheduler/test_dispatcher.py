"""The dispatcher in-process, on SQLite and PostgreSQL, through the simulated network."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openrevox.providers.telephony.simulated import SimulatedStats, SimulatedTelephony
from openrevox.scheduler import Dispatcher
from openrevox.scheduler.testing import organization, place
from openrevox.services import calls as call_service
from openrevox.storage.database import Database
from openrevox.storage.models import Call
from openrevox.storage.repositories import dispatch
from openrevox.testing.fake_openai import FakeOpenAI
from openrevox.testing.fake_openai_realtime import FakeOpenAIRealtime
from tests.scheduler.conftest import attempts, fast_settings, order, wait_until

HUMAN, VOICEMAIL, BUSY, NO_ANSWER, IVR, NOT_ATTRIBUTED = (f"+1202555010{i}" for i in range(6))
NO_DELAY: dict[str, Any] = {
    "max_retry_attempts": 3,
    "calling_windows": [
        {
            "calling_window_start_time": "00:00",
            "calling_window_end_time": "24:00",
            "retry_delay_seconds": 0,
        }
    ],
    "allowed_days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
}


async def run_until(dispatcher: Dispatcher, check: object, within: float = 20.0) -> None:
    task = asyncio.create_task(dispatcher.run())
    try:
        await wait_until(check, within=within)
    finally:
        dispatcher.stop()
        await task


def done(db: Database, *ids: str, status: str = "post_processing") -> object:
    """The orders reached ``status``; by default the dispatcher's end: after-call work
    (analysis, notifications) is the job runner's (tests/postcall)."""

    async def all_done() -> bool:
        for i in ids:
            if (await order(db, i)).status != status:
                return False
        return True

    return all_done


async def test_a_human_call_runs_the_agent_to_completion(
    db: Database, database_url: str, llm: FakeOpenAI
) -> None:
    settings = fast_settings(database_url, llm)
    org = await organization(db)
    call_id = await place(db, org, HUMAN)
    await run_until(Dispatcher(db, settings, SimulatedTelephony(settings)), done(db, call_id))
    call = await order(db, call_id)
    assert (call.result, call.calls_count, call.claimed_by, call.lease_expires_at) == (
        "human",
        1,
        None,
        None,
    )
    [attempt] = await attempts(db, call_id)
    assert attempt.status == "completed" and attempt.result == "human"
    assert attempt.started_at and attempt.answered_at and attempt.ended_at
    assert attempt.provider == "simulated" and attempt.ended_by == "user"
    said = [(t["role"], t["content"]) for t in attempt.transcript or []]
    assert said[0] == ("assistant", "Hello Ann, this is Ava from Acme.")
    assert ("user", "Goodbye!") in said
    assert attempt.speech_events
    # The real agent talked: the LLM got the call's prompt with its variables filled in.
    assert "You call Ann to confirm" in llm.requests[0].system_prompt


async def test_a_call_on_a_realtime_model_runs_through_the_simulated_network(
    db: Database, database_url: str
) -> None:
    """An order whose assistant speaks through OpenAI's Realtime API (the shipped fake,
    on a loopback WebSocket) is dialled and talked through like any other."""
    realtime = {"type": "realtime", "provider": "openai", "realtime_model_id": "gpt-realtime"}
    with FakeOpenAIRealtime() as model:
        model.add("Hi Ann, it is about your appointment.", "It is tomorrow at nine.")
        settings = fast_settings(
            database_url, None, openai_api_key="sk-rt", openai_realtime_url=model.url
        )
        org = await organization(db)
        call_id = await place(db, org, HUMAN, llm_model=realtime)
        await run_until(Dispatcher(db, settings, SimulatedTelephony(settings)), done(db, call_id))
    [attempt] = await attempts(db, call_id)
    assert attempt.status == "completed" and attempt.result == "human"
    said = [(t["role"], t["content"]) for t in attempt.transcript or []]
    assert said[:4] == [
        ("assistant", "Hello Ann, this is Ava from Acme."),
        ("user", "Hello?"),
        ("assistant", "Hi Ann, it is about your appointment."),
        ("user", "Yes, this is a good time. What is it about?"),
    ]
    assert ("assistant", "It is tomorrow at nine.") in said
    assert "You call Ann to confirm" in (model.sessions[-1]["instructions"] or "")
    heard = [i["content"][0]["text"] for i in model.items if i.get("role") == "user"]
    assert heard[:2] == ["Hello?", "Yes, this is a good time. What is it about?"]


async def test_voicemail_ivr_and_dial_errors(
    db: Database, database_url: str, llm: FakeOpenAI
) -> None:
    settings = fast_settings(database_url, llm)
    org = await organization(db)
    one_try = {**NO_DELAY, "max_retry_attempts": 1}
    ids = {
        n: await place(db, org, n, retry=one_try)
        for n in (VOICEMAIL, BUSY, NO_ANSWER, IVR, NOT_ATTRIBUTED)
    }
    await run_until(Dispatcher(db, settings, SimulatedTelephony(settings)), done(db, *ids.values()))
    got = {}
    for number, call_id in ids.items():
        [a] = await attempts(db, call_id)
        got[number] = (a.status, a.result, a.dial_error)
    assert got == {
        VOICEMAIL: ("completed", "voicemail", None),
        BUSY: ("error", None, "busy"),
        NO_ANSWER: ("error", None, "no_answer"),
        IVR: ("completed", "human", None),
        NOT_ATTRIBUTED: ("error", None, "number_non_attributed"),
    }
    [vm] = await attempts(db, ids[VOICEMAIL])
    assert (vm.ended_by, vm.end_reason) == ("agent", "voicemail")
    assert vm.transcript and vm.transcript[-1]["content"].startswith("Hi Ann, Ava from Acme")
    [ivr] = await attempts(db, ids[IVR])
    assert ivr.transcript and "press 1" in str(ivr.transcript)


async def test_busy_and_no_answer_are_retried_then_exhausted(
    db: Database, database_url: str
) -> None:
    settings = fast_settings(database_url, None)
    org = await organization(db)
    busy = await place(db, org, BUSY, retry=NO_DELAY)
    silent = await place(db, org, NO_ANSWER, retry=NO_DELAY)
    gone = await place(db, org, NOT_ATTRIBUTED, retry=NO_DELAY)
    await run_until(
        Dispatcher(db, settings, SimulatedTelephony(settings)), done(db, busy, silent, gone)
    )
    for call_id in (busy, silent):
        call = await order(db, call_id)
        assert call.calls_count == 3 and call.next_attempt_at is None
        assert call.status_reason == "every attempt was made without reaching a human"
        assert [a.attempt_number for a in await attempts(db, call_id)] == [1, 2, 3]
    call = await order(db, gone)
    assert call.calls_count == 1 and call.status_reason == "not retried: number_non_attributed"


async def test_retry_delay_with_a_fake_clock(db: Database, database_url: str) -> None:
    """Due times follow the policy: nothing is claimed before the clock reaches them."""
    settings = fast_settings(database_url, None)
    clock = [datetime.now(UTC)]
    org = await organization(db)
    delayed = {
        **NO_DELAY,
        "calling_windows": [{**NO_DELAY["calling_windows"][0], "retry_delay_seconds": 3600}],
    }
    later = await place(db, org, BUSY, retry=delayed, scheduled_at=clock[0] + timedelta(hours=2))
    dispatcher = Dispatcher(db, settings, SimulatedTelephony(settings), now=lambda: clock[0])
    assert await dispatcher.claim_once() == 0
    assert (await order(db, later)).status == "scheduled"
    clock[0] += timedelta(hours=2, seconds=1)
    assert await dispatcher.claim_once() == 1
    await wait_until(lambda: _idle(dispatcher))
    call = await order(db, later)
    assert call.status == "scheduled" and call.calls_count == 1
    assert call.next_attempt_at == clock[0] + timedelta(hours=1)
    clock[0] += timedelta(minutes=59)
    assert await dispatcher.claim_once() == 0
    clock[0] += timedelta(minutes=1)
    assert await dispatcher.claim_once() == 1
    await wait_until(lambda: _idle(dispatcher))
    assert (await order(db, later)).calls_count == 2


async def _idle(dispatcher: Dispatcher) -> bool:
    return dispatcher.running == 0


async def test_concurrency_limits_queue_the_rest(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    stats = tmp_path / "stats.json"
    settings = fast_settings(
        database_url,
        None,
        organization_concurrency_limit=3,
        simulated_ring_secs=0.15,
        simulated_stats_path=stats,
        concurrency_key_limits={"team-a": 5},
    )
    async with db.write() as session:
        await dispatch.set_key_limit(session, "team-b", 1, datetime.now(UTC))
    org = await organization(db)
    one_try = {**NO_DELAY, "max_retry_attempts": 1}
    plain = [await place(db, org, BUSY, retry=one_try) for _ in range(6)]
    team_b = [await place(db, org, BUSY, retry=one_try, concurrency_key="team-b") for _ in range(3)]
    dispatcher = Dispatcher(db, settings, SimulatedTelephony(settings))
    task = asyncio.create_task(dispatcher.run())
    try:

        async def some_wait() -> bool:
            for i in plain + team_b:
                call = await order(db, i)
                if call.status == "queued_for_calling" and call.status_reason:
                    return True
            return False

        await wait_until(some_wait)
        waiting = [
            c
            for c in [await order(db, i) for i in plain + team_b]
            if c.status == "queued_for_calling"
        ]
        assert any(
            "organization limit reached (3 of 3 calls active)" in (c.status_reason or "")
            for c in waiting
        )
        await wait_until(done(db, *plain, *team_b))
    finally:
        dispatcher.stop()
        await task
    seen = SimulatedStats(stats).read()
    assert seen["peak"] == 3 and seen["double_dials"] == 0 and seen["dials"] == 9


async def test_cancel_hangs_up_the_live_attempt(
    db: Database, database_url: str, llm: FakeOpenAI
) -> None:
    settings = fast_settings(database_url, llm, simulated_ring_secs=30)
    org = await organization(db)
    call_id = await place(db, org, HUMAN)
    dispatcher = Dispatcher(db, settings, SimulatedTelephony(settings))
    task = asyncio.create_task(dispatcher.run())
    try:

        async def ringing() -> bool:
            return [a.status for a in await attempts(db, call_id)] == ["ringing"]

        await wait_until(ringing)
        async with db.write() as session:
            await call_service.act(session, org, call_id, "cancel")

        await wait_until(lambda: _idle(dispatcher), within=5)
    finally:
        dispatcher.stop()
        await task
    call = await order(db, call_id)
    assert (call.status, call.claimed_by, call.calls_count) == ("cancelled", None, 1)
    [attempt] = await attempts(db, call_id)
    assert (attempt.status, attempt.ended_by, attempt.end_reason) == (
        "completed",
        "system",
        "client_initiated",
    )


async def test_graceful_shutdown_releases_calls_that_outlive_the_timeout(
    db: Database, database_url: str
) -> None:
    settings = fast_settings(
        database_url, None, simulated_ring_secs=30, dispatcher_shutdown_timeout_secs=0.2
    )
    org = await organization(db)
    call_id = await place(db, org, BUSY)
    dispatcher = Dispatcher(db, settings, SimulatedTelephony(settings))
    task = asyncio.create_task(dispatcher.run())

    async def ringing() -> bool:
        return [a.status for a in await attempts(db, call_id)] == ["ringing"]

    await wait_until(ringing)
    dispatcher.stop()
    await asyncio.wait_for(task, 5)
    call = await order(db, call_id)
    assert (call.status, call.claimed_by, call.lease_expires_at) == ("scheduled", None, None)
    assert call.next_attempt_at is not None
    [attempt] = await attempts(db, call_id)
    assert (attempt.status, attempt.ended_by, attempt.end_reason) == (
        "error",
        "system",
        "participant_removed",
    )


async def test_an_expired_lease_is_recovered_and_retried(db: Database, database_url: str) -> None:
    """A worker that stops heartbeating (as if killed) loses its call to another."""
    settings = fast_settings(database_url, None, dispatcher_lease_secs=0.3)
    org = await organization(db)
    call_id = await place(db, org, NOT_ATTRIBUTED, retry=NO_DELAY)
    clock = [datetime.now(UTC)]
    # The dead worker: it claimed (attempt created, order calling) and then vanished.
    dead = Dispatcher(
        db, settings, SimulatedTelephony(settings), worker_id="dead", now=lambda: clock[0]
    )
    dead._start = lambda claim: None  # type: ignore[method-assign]
    assert await dead.claim_once() == 1
    call = await order(db, call_id)
    assert (call.status, call.claimed_by) == ("calling", "dead")
    alive = Dispatcher(
        db, settings, SimulatedTelephony(settings), worker_id="alive", now=lambda: clock[0]
    )
    assert await alive.recover_expired() == 0  # the lease still runs
    clock[0] += timedelta(seconds=1)
    assert await alive.recover_expired() == 1
    call = await order(db, call_id)
    assert (call.status, call.claimed_by, call.lease_expires_at) == ("scheduled", None, None)
    [attempt] = await attempts(db, call_id)
    assert (attempt.status, attempt.ended_by, attempt.end_reason) == (
        "error",
        "system",
        "connection_timeout",
    )
    assert await alive.claim_once() == 1
    await wait_until(lambda: _idle(alive))
    call = await order(db, call_id)
    assert (call.status, call.calls_count) == ("post_processing", 2)
    _ = Call


async def test_the_app_dispatches_in_process_when_asked(db: Database, database_url: str) -> None:
    from openrevox.app import create_app

    settings = fast_settings(database_url, None)
    org = await organization(db)
    call_id = await place(db, org, NOT_ATTRIBUTED)
    app = create_app(settings, dispatch=True)
    async with app.router.lifespan_context(app):
        assert app.state.dispatcher is not None and app.state.job_runner is not None
        # The in-process job runner takes the order on from post_processing.
        await wait_until(done(db, call_id, status="completed"))
    quiet = create_app(settings)
    async with quiet.router.lifespan_context(quiet):
        assert quiet.state.dispatcher is None and quiet.state.job_runner is None


def test_concurrency_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from typer.testing import CliRunner, Result

    from openrevox.cli.main import app

    monkeypatch.setenv("OPENREVOX_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("OPENREVOX_CONCURRENCY_KEY_LIMITS", '{"support": 4, "sales": 9}')
    runner = CliRunner()

    def run(*args: str) -> Result:
        # The commands run their own event loop: off the test's thread.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(runner.invoke, app, ["concurrency", *args]).result()

    assert run("set", "sales", "3").exit_code == 0
    listed = run("list")
    assert listed.exit_code == 0
    assert listed.output.splitlines() == ["sales\t3", "support\t4\t(setting)"]
    assert run("clear", "sales").exit_code == 0
    assert run("clear", "sales").exit_code == 1
