"""The campaign scope of admission: ``max_concurrent_calls`` next to the organization's
limit and concurrency keys, as the dispatcher feeds it (pure, no I/O)."""

from __future__ import annotations

import random

from openrevox.domain.scheduling import Candidate, Usage, plan_admissions


def test_a_campaign_at_its_limit_waits_while_others_of_the_organization_start() -> None:
    candidates = [
        Candidate("org", campaign_id="a"),
        Candidate("org", campaign_id="a"),
        Candidate("org", campaign_id="a"),
        Candidate("org", campaign_id="b"),
        Candidate("org"),
        Candidate("org", campaign_id="b"),
    ]
    admissions = plan_admissions(
        candidates,
        {"org": Usage(1, 4)},  # the campaign's active call counts here too
        {},
        {"a": Usage(1, 2)},  # b has no limit: absent from the mapping
    )
    assert [a.admitted for a in admissions] == [True, False, False, True, True, False]
    assert admissions[1].blocked_by == ("campaign",)
    assert admissions[1].reason == "campaign limit reached (2 of 2 calls active)"
    assert admissions[5].blocked_by == ("organization",)
    assert admissions[5].reason == "organization limit reached (4 of 4 calls active)"


def test_a_lowered_campaign_limit_admits_nothing_until_calls_end() -> None:
    admissions = plan_admissions(
        [Candidate("org", campaign_id="a")] * 3, {"org": Usage(3, 10)}, {}, {"a": Usage(3, 1)}
    )
    assert not any(a.admitted for a in admissions)
    assert admissions[0].reason == "campaign limit reached (3 of 1 calls active)"


def test_random_batches_never_exceed_any_limit() -> None:
    rng = random.Random(6)
    for _ in range(300):
        orgs = {o: Usage(rng.randint(0, 3), rng.randint(0, 6)) for o in ("o1", "o2")}
        campaigns = {c: Usage(rng.randint(0, 2), rng.randint(0, 4)) for c in ("c1", "c2", "c3")}
        owner = {"c1": "o1", "c2": "o1", "c3": "o2"}
        keys = {("o1", "k"): Usage(0, rng.randint(0, 3))}
        candidates = []
        for _ in range(rng.randint(0, 25)):
            campaign = rng.choice(["c1", "c2", "c3", None])
            org = owner[campaign] if campaign else rng.choice(["o1", "o2"])
            key = "k" if org == "o1" and rng.random() < 0.3 else None
            candidates.append(Candidate(org, key, campaign))
        admissions = plan_admissions(candidates, orgs, keys, campaigns)
        started: dict[str, int] = {}
        for candidate, admission in zip(candidates, admissions, strict=True):
            if admission.admitted:
                for scope in (candidate.organization_id, candidate.campaign_id):
                    if scope is not None:
                        started[scope] = started.get(scope, 0) + 1
                if candidate.concurrency_key:
                    started["key"] = started.get("key", 0) + 1
        for org, usage in orgs.items():
            assert started.get(org, 0) <= max(0, (usage.limit or 0) - usage.active)
        for campaign, usage in campaigns.items():
            assert started.get(campaign, 0) <= max(0, (usage.limit or 0) - usage.active)
        assert started.get("key", 0) <= (keys[("o1", "k")].limit or 0)
        # Whatever waits is blocked by a scope that is full at that point of the batch.
        for admission in admissions:
            assert admission.admitted or admission.reason
