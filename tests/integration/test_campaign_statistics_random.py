"""The SQL aggregation of campaign statistics agrees with a brute-force count in Python
over ~500 random calls (numbers repeated, both directions, 0-3 attempts, every outcome),
on every backend. The brute force follows docs/campaigns.md#statistics word for word."""

from __future__ import annotations

import random
import statistics as stats_lib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from openrevox.services.wire_values import timestamp
from openrevox.storage.models import Call, CallAttempt, new_id
from openrevox.storage.repositories import campaign_statistics
from tests.integration.conftest import Api
from tests.integration.test_calls import create_assistant
from tests.integration.test_campaigns import create_campaign

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OUTCOMES = [None, None, "interested", "not_interested", "completed", "requested_callback_later"]
RESULTS = [None, "human", "human", "voicemail", "IVR", "unknown"]


@dataclass
class Attempt:
    id: str
    result: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    handled_by_human: bool


@dataclass
class FakeCall:
    id: str
    phone: str
    direction: str
    from_number: str | None
    outcome: str | None
    created_at: datetime
    output: dict[str, Any] | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def result(self) -> str | None:
        """What the dispatcher keeps on the call: the latest attempt's result."""
        return self.attempts[-1].result if self.attempts else None

    @property
    def reached(self) -> bool:
        inbound = self.direction == "inbound"
        return self.result == "human" or (
            inbound and any(a.answered_at is not None for a in self.attempts)
        )

    @property
    def last_at(self) -> datetime | None:
        times = [a.ended_at or a.answered_at or a.started_at for a in self.attempts]
        return max(times) if times else None


def generate(rng: random.Random, count: int, unique: bool = False) -> list[FakeCall]:
    """``unique``: every outbound call has its own number (as a contact list has), and
    inbound calls come from those numbers; else numbers repeat across calls."""
    numbers = [f"+3361234{n:04d}" for n in range(count * 2 if unique else count * 2 // 5)]
    fresh = iter(numbers)
    # Distinct instants, so that "most recent" never ties.
    seconds = iter(rng.sample(range(1, 30 * 86400), count * 12))
    calls: list[FakeCall] = []
    for _ in range(count):
        inbound = rng.random() < 0.2
        phone = next(fresh) if unique and not inbound else rng.choice(numbers)
        if unique and inbound:
            outbound = [c.phone for c in calls if c.direction == "outbound"]
            phone = rng.choice(outbound) if outbound and rng.random() < 0.7 else next(fresh)
        from_number: str | None = phone if inbound else None
        if inbound and rng.random() < 0.1:
            from_number, phone = None, "+33198765432"  # caller unknown: our number
        call = FakeCall(
            id=new_id(),
            phone=phone,
            direction="inbound" if inbound else "outbound",
            from_number=from_number,
            outcome=rng.choice(OUTCOMES),
            created_at=T0 + timedelta(seconds=next(seconds)),
            output=rng.choice(
                [None, {"email": "x@example.com", "budget": 10}, {"email": None, "budget": 5}]
            ),
        )
        for _ in range(1 if inbound else rng.choice([0, 1, 1, 2, 3])):
            start = T0 + timedelta(seconds=next(seconds))
            answered = rng.random() < 0.6
            ended = rng.random() < 0.9
            call.attempts.append(
                Attempt(
                    id=new_id(),
                    result=rng.choice(RESULTS) if answered else None,
                    started_at=start,
                    answered_at=start + timedelta(seconds=3) if answered else None,
                    ended_at=start + timedelta(seconds=rng.randint(10, 400)) if ended else None,
                    handled_by_human=rng.random() < 0.1,
                )
            )
        calls.append(call)
    return calls


def brute_force(calls: list[FakeCall]) -> dict[str, Any]:
    outbound = [c for c in calls if c.direction == "outbound"]
    inbound = [c for c in calls if c.direction == "inbound"]
    called = {c.phone for c in outbound if c.attempts} | {c.phone for c in inbound}
    reached_out = {c.phone for c in outbound if c.reached}
    reached_in = {c.phone for c in inbound if c.reached}
    reached = reached_out | reached_in
    verdicts: dict[str, FakeCall] = {}
    for c in calls:
        if c.outcome is None or c.phone not in reached:
            continue
        # The verdict recorded last: the call's updated_at (stored = created_at here).
        key = (c.created_at, c.id)
        best = verdicts.get(c.phone)
        if best is None or key > (best.created_at, best.id):
            verdicts[c.phone] = c
    by_outcome: dict[str, int] = {}
    for c in verdicts.values():
        by_outcome[str(c.outcome)] = by_outcome.get(str(c.outcome), 0) + 1

    def leads(outcome: str) -> list[str]:
        # Newest verdict first: the verdict call's updated_at (stored = created_at here).
        chosen = [c for c in verdicts.values() if c.outcome == outcome]
        chosen.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return [c.id for c in chosen]

    firsts = [a.started_at for c in calls for a in c.attempts]
    lasts = [c.last_at for c in calls if c.last_at]
    joined = [a for c in calls for a in c.attempts if a.handled_by_human]
    durations = [
        (a.ended_at - a.answered_at).total_seconds()
        for a in joined
        if a.answered_at is not None and a.ended_at is not None
    ]
    return {
        "called": len(called),
        "reached": (len(reached), len(reached_out), len(reached_in), len(reached_out & reached_in)),
        "real": len(verdicts),
        "by_outcome": by_outcome,
        "interested": leads("interested"),
        "callback": leads("requested_callback_later"),
        "effort": (sum(len(c.attempts) for c in outbound), len(inbound)),
        "callers": len({c.phone for c in inbound}),
        "span": (timestamp(min(firsts)), timestamp(max(lasts))),
        "jump_in": (len(joined), stats_lib.median(durations) if durations else None),
    }


async def store(api: Api, campaign: dict[str, Any], calls: list[FakeCall]) -> None:
    call_rows = [
        {
            "id": c.id,
            "organization_id": campaign["organization_id"],
            "assistant_snapshot": {},
            "to_phone_number": c.phone if c.direction == "outbound" else "+33198765432",
            "from_phone_number": c.from_number,
            "direction": c.direction,
            "status": "completed" if c.attempts else "not_launched",
            "scheduled_at": c.created_at,
            "campaign_id": campaign["id"],
            "outcome": c.outcome,
            "result": c.result,
            "structured_output": c.output,
            "calls_count": len(c.attempts),
            "created_at": c.created_at,
            "updated_at": c.created_at,
        }
        for c in calls
    ]
    attempt_rows = [
        {
            "id": a.id,
            "call_id": c.id,
            "attempt_number": i,
            "status": "completed",
            "phone_number": c.phone,
            "result": a.result,
            "started_at": a.started_at,
            "answered_at": a.answered_at,
            "ended_at": a.ended_at,
            "handled_by_human": a.handled_by_human,
            "created_at": a.started_at,
            "updated_at": a.started_at,
        }
        for c in calls
        for i, a in enumerate(c.attempts, start=1)
    ]
    async with api.db.write() as session:
        await session.execute(insert(Call), call_rows)
        await session.execute(insert(CallAttempt), attempt_rows)


@pytest.mark.parametrize(
    ("seed", "unique", "inline"),
    [(7, False, True), (2026, False, False), (11, True, True), (12, True, False)],
)
async def test_aggregation_agrees_with_a_brute_force_count(
    api: Api, monkeypatch: pytest.MonkeyPatch, seed: int, unique: bool, inline: bool
) -> None:
    """``inline``: the shared numbers are bound as a list; else read as a subquery (the
    form for campaigns with more than ``SHARED_INLINE`` of them)."""
    if not inline:
        monkeypatch.setattr(campaign_statistics, "SHARED_INLINE", 0)
    rng = random.Random(seed)
    assistant = await create_assistant(
        api,
        structured_output_config=[
            {"name": "email", "type": "string", "required": False},
            {"name": "budget", "type": "number", "required": False},
        ],
    )
    campaign = await create_campaign(api, count=1, assistant_id=assistant["id"])
    calls = generate(rng, 500, unique)
    await store(api, campaign, calls)
    expected = brute_force(calls)

    response = await api.client.get(f"/campaigns/{campaign['id']}/statistics")
    assert response.status_code == 200, response.text
    got = response.json()["statistics"]

    funnel = got["funnel"]
    assert funnel["called"]["count"] == expected["called"]
    reached = funnel["reached"]
    assert (reached["count"], reached["outbound"], reached["inbound"], reached["overlap"]) == (
        expected["reached"]
    )
    assert funnel["real_exchanges"]["count"] == expected["real"]
    assert funnel["hot_leads"]["count"] == expected["by_outcome"].get("interested", 0)
    breakdown = {o["outcome"]: o["count"] for o in got["outcome_breakdown"]}
    assert {k: v for k, v in breakdown.items() if v} == expected["by_outcome"]
    assert [lead["call_id"] for lead in got["leads"]["interested"]] == expected["interested"]
    assert [lead["call_id"] for lead in got["leads"]["callback_requested"]] == expected["callback"]
    effort = got["effort"]
    assert (effort["outbound_attempts"], effort["inbound_calls"]) == expected["effort"]
    assert effort["calls_total"] == sum(expected["effort"])
    assert got["inbound"]["unique_callers"] == expected["callers"]
    span = (got["campaign"]["first_activity_at"], got["campaign"]["last_activity_at"])
    assert span == expected["span"]
    jump_in = got["jump_in"]
    assert (jump_in["joined_calls"], jump_in["median_conversation_seconds"]) == expected["jump_in"]
    # The sample is rich enough to mean something.
    assert expected["real"] > 50 and expected["reached"][3] > 0 and expected["jump_in"][0] > 5
