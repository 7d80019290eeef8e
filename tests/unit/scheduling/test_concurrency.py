"""Admission of one more call under organization, concurrency-key and campaign limits."""

from __future__ import annotations

import pytest

from openrevox.domain.scheduling import Candidate, Usage, admit, free_slots, plan_admissions


def test_under_every_limit_is_admitted() -> None:
    admission = admit(Usage(3, 10), Usage(1, 2), Usage(4, 5))
    assert admission.admitted
    assert admission.blocked_by == ()
    assert admission.reason is None


@pytest.mark.parametrize(
    ("org", "key", "campaign", "blocked"),
    [
        (Usage(10, 10), None, None, ("organization",)),
        (Usage(3, 10), Usage(2, 2), None, ("concurrency_key",)),
        (Usage(3, 10), None, Usage(5, 5), ("campaign",)),
        (Usage(3, 10), Usage(2, 2), Usage(5, 5), ("concurrency_key", "campaign")),
        (Usage(10, 10), Usage(2, 2), Usage(5, 5), ("organization", "concurrency_key", "campaign")),
        (Usage(12, 10), None, None, ("organization",)),  # limit lowered below the active count
        (Usage(0, 0), None, None, ("organization",)),  # a zero limit admits nothing
        (Usage(3, 10), Usage(0, 0), None, ("concurrency_key",)),
    ],
)
def test_the_blocking_limits_are_named(
    org: Usage, key: Usage | None, campaign: Usage | None, blocked: tuple[str, ...]
) -> None:
    admission = admit(org, key, campaign)
    assert not admission.admitted
    assert admission.blocked_by == blocked


def test_none_is_unlimited() -> None:
    assert admit(Usage(10_000, None), Usage(500, None), Usage(70, None)).admitted
    assert admit(Usage(0)).admitted


def test_reason_explains_queued_for_calling() -> None:
    admission = admit(Usage(10, 10), Usage(2, 2))
    assert admission.reason == (
        "organization limit reached (10 of 10 calls active); "
        "concurrency key limit reached (2 of 2 calls active)"
    )


def test_negative_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        Usage(-1, 10)
    with pytest.raises(ValueError, match="never negative"):
        Usage(0, -1)


def test_free_slots() -> None:
    assert Usage(3, 10).free == 7
    assert Usage(12, 10).free == 0
    assert Usage(3).free is None
    assert free_slots(Usage(3, 10), Usage(1, 2), Usage(0)) == 1
    assert free_slots(Usage(3), Usage(1)) is None
    assert free_slots() is None


def test_plan_admissions_counts_each_admitted_call() -> None:
    candidates = [Candidate("org-a")] * 4
    plan = plan_admissions(candidates, {"org-a": Usage(8, 10)}, {}, {})
    assert [a.admitted for a in plan] == [True, True, False, False]
    assert plan[2].blocked_by == ("organization",)
    assert plan[2].reason == "organization limit reached (10 of 10 calls active)"


def test_plan_admissions_keys_belong_to_their_organization() -> None:
    candidates = [
        Candidate("org-a", concurrency_key="clinic"),
        Candidate("org-a", concurrency_key="clinic"),
        Candidate("org-b", concurrency_key="clinic"),  # another organization's key
        Candidate("org-a", concurrency_key="other"),
        Candidate("org-a"),
    ]
    plan = plan_admissions(
        candidates,
        {"org-a": Usage(0, 10), "org-b": Usage(0, 10)},
        {("org-a", "clinic"): Usage(0, 1), ("org-b", "clinic"): Usage(0, 1)},
        {},
    )
    assert [a.admitted for a in plan] == [True, False, True, True, True]
    assert plan[1].blocked_by == ("concurrency_key",)


def test_plan_admissions_with_campaign_limits_and_unknown_ids() -> None:
    candidates = [
        Candidate("org-a", campaign_id="c1"),
        Candidate("org-a", campaign_id="c1"),
        Candidate("org-a", campaign_id="c2"),  # c2 is absent: unlimited
        Candidate("org-z"),  # org-z is absent: no limit given
    ]
    plan = plan_admissions(candidates, {"org-a": Usage(5, 10)}, {}, {"c1": Usage(1, 2)})
    assert [a.admitted for a in plan] == [True, False, True, True]
    assert plan[1].blocked_by == ("campaign",)


def test_a_blocked_call_does_not_use_a_slot() -> None:
    candidates = [
        Candidate("org-a", concurrency_key="k"),  # blocked by its key
        Candidate("org-a"),  # still has the organization's last slot
    ]
    plan = plan_admissions(candidates, {"org-a": Usage(9, 10)}, {("org-a", "k"): Usage(1, 1)}, {})
    assert [a.admitted for a in plan] == [False, True]
