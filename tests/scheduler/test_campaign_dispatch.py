"""Campaigns through the dispatcher on the simulated network, on SQLite and PostgreSQL:
``max_concurrent_calls`` is never exceeded, and a campaign runs end to end with pause,
resume and cancel in the middle, its counts and status agreeing with its calls."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from openrevox.jobs import JobRunner
from openrevox.postcall.kinds import post_call_kinds
from openrevox.providers.telephony.base import DialRequest
from openrevox.providers.telephony.simulated import SimulatedStats, SimulatedTelephony
from openrevox.scheduler import Dispatcher
from openrevox.scheduler.testing import ASSISTANT, organization
from openrevox.schemas.assistants import AssistantCreate
from openrevox.schemas.campaigns import CampaignCreate, CampaignLaunch
from openrevox.services import assistants
from openrevox.services import campaigns as service
from openrevox.services.auth import Principal
from openrevox.storage.database import Database
from openrevox.storage.models import Call, CallAttempt
from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, Reply, answer_json, say
from tests.scheduler.conftest import fast_settings, wait_until
from tests.scheduler.test_dispatcher import NO_DELAY

HUMAN, VOICEMAIL, BUSY, NO_ANSWER = (f"+1202555010{i}" for i in range(4))
EVERYTHING = {
    "mode": "ai_first",
    "selection": {
        "rows": {"mode": "all_except", "call_ids": []},
        "filters": {
            "assignee_ids": [],
            "directions": [],
            "outcomes": [],
            "results": [],
            "statuses": [],
        },
    },
}


async def new_campaign(
    db: Database, org: Principal, numbers: list[str], **fields: Any
) -> service.CampaignView:
    async with db.write() as session:
        assistant = await assistants.create(
            session, org, AssistantCreate.model_validate({**ASSISTANT, "name": "Ava"})
        )
        body = {
            "name": "Spring",
            "assistant_id": assistant.assistant.id,
            "contacts": [
                {"to_phone_number": n, "prompt_variables": {"name": f"Ann {i}"}}
                for i, n in enumerate(numbers)
            ],
            **fields,
        }
        return await service.create(session, org, CampaignCreate.model_validate(body))


async def launch_all(db: Database, org: Principal, campaign_id: str) -> service.LaunchOutcome:
    async with db.write() as session:
        return await service.launch(
            session, org, campaign_id, CampaignLaunch.model_validate(EVERYTHING)
        )


async def wire(db: Database, org: Principal, campaign_id: str) -> dict[str, Any]:
    async with db.read() as session:
        return service.to_wire(await service.get(session, org, campaign_id))


async def call_statuses(db: Database, campaign_id: str) -> dict[str, str]:
    async with db.read() as session:
        rows = await session.execute(
            select(Call.to_phone_number, Call.status).where(Call.campaign_id == campaign_id)
        )
        return {number: status for number, status in rows}


async def dials(db: Database, campaign_id: str) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(CallAttempt)
            .join(Call, Call.id == CallAttempt.call_id)
            .where(Call.campaign_id == campaign_id)
        )
    return int(count or 0)


class _Busy(SimulatedTelephony):
    """Every number is busy after ringing (attempts overlap, none reaches the agent);
    counts the calls live at once per campaign."""

    def __init__(self, settings: Any, campaign_of: dict[str, str]) -> None:
        super().__init__(settings)
        self.campaign_of = campaign_of
        self.live: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    async def place_call(self, request: DialRequest, progress: Any) -> Any:
        campaign = self.campaign_of[request.call_id]
        self.live[campaign] = self.live.get(campaign, 0) + 1
        self.peak[campaign] = max(self.peak.get(campaign, 0), self.live[campaign])
        try:
            return await super().place_call(replace(request, to_number=BUSY), progress)
        finally:
            self.live[campaign] -= 1


async def test_max_concurrent_calls_is_never_exceeded(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    stats = tmp_path / "stats.json"
    settings = fast_settings(
        database_url,
        None,
        organization_concurrency_limit=10,
        simulated_ring_secs=0.15,
        simulated_stats_path=stats,
    )
    org = await organization(db)
    one_try = {**NO_DELAY, "max_retry_attempts": 1}
    capped = await new_campaign(
        db,
        org,
        [f"+13125550{n:03d}" for n in range(8)],
        call_retry_config=one_try,
        max_concurrent_calls=2,
    )
    free = await new_campaign(
        db, org, [f"+13125551{n:03d}" for n in range(4)], call_retry_config=one_try
    )
    a, b = capped.campaign.id, free.campaign.id
    assert (await launch_all(db, org, a)).launched == 8
    assert (await launch_all(db, org, b)).launched == 4
    async with db.read() as session:
        rows = await session.execute(
            select(Call.id, Call.campaign_id).where(Call.campaign_id.is_not(None))
        )
        campaign_of = {call_id: campaign_id for call_id, campaign_id in rows}
    provider = _Busy(settings, campaign_of)
    dispatcher = Dispatcher(db, settings, provider)
    task = asyncio.create_task(dispatcher.run())
    try:

        async def some_wait() -> bool:
            async with db.read() as session:
                reasons = await session.scalars(
                    select(Call.status_reason).where(
                        Call.campaign_id == a, Call.status == "queued_for_calling"
                    )
                )
                return "campaign limit reached (2 of 2 calls active)" in set(reasons)

        await wait_until(some_wait)

        async def finished() -> bool:
            statuses = {**await call_statuses(db, a), **await call_statuses(db, b)}
            return set(statuses.values()) == {"post_processing"}

        await wait_until(finished)
    finally:
        dispatcher.stop()
        await task
    # The capped campaign never had more than 2 calls at once; the other one, in the
    # same organization, was not held back by it.
    assert provider.peak[a] == 2
    assert provider.peak[b] >= 3
    seen = SimulatedStats(stats).read()
    assert seen["double_dials"] == 0 and seen["dials"] == 12
    capped_wire = await wire(db, org, a)
    assert capped_wire["status"] == "running"  # after-call work goes on (no job runner)
    assert capped_wire["row_stats"]["calling"] == 8


def _analyst(request: FakeRequest) -> Reply:
    if request.response_format:
        return answer_json(
            {
                "summary": "Ann is interested.",
                "outcome": "interested",
                "outcome_summary": "Asked for a demo.",
                "structured_output": {},
                "contact": {"first_name": "Ann"},
            }
        )
    return say("ok")


async def test_a_campaign_runs_end_to_end_with_pause_resume_and_cancel(
    db: Database, database_url: str, llm: FakeOpenAI, tmp_path: Path
) -> None:
    with FakeOpenAI(handler=_analyst) as analysis:
        settings = fast_settings(
            database_url,
            llm,
            organization_concurrency_limit=10,
            simulated_ring_secs=0.3,
            simulated_stats_path=tmp_path / "stats.json",
            analysis_base_url=analysis.base_url,
            analysis_model="analyst",
            jobs_poll_interval_secs=0.02,
        )
        org = await organization(db)
        later = [f"+1202555{n:04d}" for n in range(200, 204)]  # humans, cancelled unreached
        numbers = [HUMAN, VOICEMAIL, BUSY, NO_ANSWER, *later]
        retry = {**NO_DELAY, "max_retry_attempts": 2}
        view = await new_campaign(db, org, numbers, call_retry_config=retry, max_concurrent_calls=2)
        cid = view.campaign.id
        assert (await wire(db, org, cid))["status"] == "paused"  # nothing launched
        outcome = await launch_all(db, org, cid)
        assert outcome.launched == 8
        dispatcher = Dispatcher(db, settings, SimulatedTelephony(settings))
        runner = JobRunner(db, settings, post_call_kinds(), worker_id="post-1")
        dispatcher.after_finish = runner.wake
        tasks = [asyncio.create_task(dispatcher.run()), asyncio.create_task(runner.run())]
        try:

            async def dialled() -> bool:
                return await dials(db, cid) >= 2

            await wait_until(dialled)
            async with db.write() as session:
                await service.pause(session, org, cid)
            assert (await wire(db, org, cid))["status"] == "paused"
            # The attempts live at the pause finish; nothing new starts.
            await wait_until(lambda: _idle(dispatcher))
            frozen = await dials(db, cid)
            await asyncio.sleep(0.5)
            assert await dials(db, cid) == frozen
            held = await call_statuses(db, cid)
            assert "paused" in held.values()
            assert not {"scheduled", "queued_for_calling", "calling"} & set(held.values())

            async with db.write() as session:
                await service.resume(session, org, cid)
            assert (await wire(db, org, cid))["status"] == "running"

            async def more() -> bool:
                return await dials(db, cid) >= frozen + 2

            await wait_until(more)
            async with db.write() as session:
                await service.cancel(session, org, cid)

            async def settled() -> bool:
                values = set((await call_statuses(db, cid)).values())
                return dispatcher.running == 0 and values <= {"completed", "cancelled"}

            await wait_until(settled, within=40)
        finally:
            dispatcher.stop()
            runner.stop()
            await asyncio.gather(*tasks)
    seen = SimulatedStats(tmp_path / "stats.json").read()
    assert seen["peak"] <= 2 and seen["double_dials"] == 0
    final = await call_statuses(db, cid)
    campaign = await wire(db, org, cid)
    assert campaign["is_cancelled"] is True and campaign["status"] == "completed"
    stats = campaign["row_stats"]
    counted = {status: list(final.values()).count(status) for status in set(final.values())}
    assert stats["total"] == 8 == len(final)
    assert stats["completed"] == counted.get("completed", 0)
    assert stats["skipped"] == counted.get("cancelled", 0) >= 1  # some were never reached
    assert stats["completed"] + stats["skipped"] == 8
    assert stats["not_launched"] == stats["pending"] == stats["retry"] == stats["calling"] == 0
    async with db.read() as session:
        attempts_made = await session.scalar(
            select(func.sum(Call.calls_count)).where(Call.campaign_id == cid)
        )
    assert attempts_made == await dials(db, cid)
    async with db.read() as session:  # the dispatcher's attempts carry the campaign
        tagged = await session.scalar(select(func.count()).where(CallAttempt.campaign_id == cid))
    assert tagged == attempts_made
    if final[HUMAN] == "completed":
        assert campaign["funnel_stats"]["talked_to_human"] >= 1


async def _idle(dispatcher: Dispatcher) -> bool:
    return dispatcher.running == 0


async def test_two_dispatchers_share_the_campaign_limit(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    settings = fast_settings(
        database_url,
        None,
        organization_concurrency_limit=10,
        simulated_ring_secs=0.15,
        simulated_stats_path=tmp_path / "stats.json",
    )
    org = await organization(db)
    one_try = {**NO_DELAY, "max_retry_attempts": 1}
    capped = await new_campaign(
        db,
        org,
        [f"+13125552{n:03d}" for n in range(12)],
        call_retry_config=one_try,
        max_concurrent_calls=3,
    )
    cid = capped.campaign.id
    assert (await launch_all(db, org, cid)).launched == 12
    async with db.read() as session:
        rows = await session.execute(select(Call.id).where(Call.campaign_id == cid))
        campaign_of = {call_id: cid for (call_id,) in rows}
    provider = _Busy(settings, campaign_of)  # one network, two workers dialling through it
    workers = [Dispatcher(db, settings, provider, worker_id=f"worker-{n}") for n in range(2)]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:

        async def finished() -> bool:
            return set((await call_statuses(db, cid)).values()) == {"post_processing"}

        await wait_until(finished)
    finally:
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks)
    assert 2 <= provider.peak[cid] <= 3
    assert sum(w.claimed_total for w in workers) == 12
    seen = SimulatedStats(tmp_path / "stats.json").read()
    assert seen["double_dials"] == 0 and seen["dials"] == 12


async def test_a_cancelled_campaign_lets_live_calls_finish_and_retries_none(
    db: Database, database_url: str
) -> None:
    settings = fast_settings(database_url, None, simulated_ring_secs=0.6)
    org = await organization(db)
    view = await new_campaign(
        db, org, [BUSY, NO_ANSWER], call_retry_config=NO_DELAY, max_concurrent_calls=1
    )
    cid = view.campaign.id
    await launch_all(db, org, cid)
    dispatcher = Dispatcher(db, settings, SimulatedTelephony(settings))
    task = asyncio.create_task(dispatcher.run())
    try:

        async def ringing() -> bool:
            return dispatcher.running == 1 and await dials(db, cid) == 1

        await wait_until(ringing)
        async with db.write() as session:
            await service.cancel(session, org, cid)
        assert set((await call_statuses(db, cid)).values()) == {"calling", "cancelled"}

        async def ended() -> bool:
            return dispatcher.running == 0 and "calling" not in set(
                (await call_statuses(db, cid)).values()
            )

        await wait_until(ended)
        await asyncio.sleep(0.3)  # a retry would be due at once (no delay): none comes
    finally:
        dispatcher.stop()
        await task
    assert set((await call_statuses(db, cid)).values()) == {"cancelled"}
    async with db.read() as session:
        [attempt] = (
            await session.scalars(
                select(CallAttempt)
                .join(Call, Call.id == CallAttempt.call_id)
                .where(Call.campaign_id == cid)
            )
        ).all()
        reasons = set(
            await session.scalars(select(Call.status_reason).where(Call.campaign_id == cid))
        )
    # The live attempt was not hung up: it ended as the callee's line did.
    assert attempt.status == "error" and attempt.dial_error in ("busy", "no_answer")
    assert attempt.end_reason != "client_initiated"
    assert reasons == {"campaign cancelled"}
    assert (await wire(db, org, cid))["status"] == "completed"
