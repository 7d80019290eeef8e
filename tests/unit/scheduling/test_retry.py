"""The retry policy, driven by a fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import get_args

import pytest
from revox.types.call_retrieve_response import CallLastCallAttempt

from openrevox.domain.scheduling import (
    AttemptOutcome,
    RetryDecision,
    first_attempt_at,
    next_attempt,
    retry_delay_seconds,
)
from openrevox.domain.scheduling.retry import (
    ATTEMPT_RESULTS,
    DIAL_ERRORS,
    PERMANENT_DIAL_ERRORS,
    LastResult,
    outcome_of,
)
from tests.unit.scheduling.clock import ALL_DAYS, FakeClock, config, local

NY = "America/New_York"
ZONES = [NY]
MONDAY_NOON = local(NY, 2025, 3, 3, 12, 0)


def _sdk_literals(field: str) -> tuple[str, ...]:
    (literal, _none) = get_args(CallLastCallAttempt.model_fields[field].annotation)
    return get_args(literal)


def test_result_and_dial_error_literals_are_the_sdks() -> None:
    assert _sdk_literals("result") == ATTEMPT_RESULTS
    assert _sdk_literals("dial_error") == DIAL_ERRORS


# --- the first attempt --------------------------------------------------------------


def test_first_attempt_now_when_inside_the_window() -> None:
    assert first_attempt_at(MONDAY_NOON, config(), ZONES) == MONDAY_NOON


def test_first_attempt_waits_for_the_window() -> None:
    saturday = local(NY, 2025, 3, 8, 12)
    assert first_attempt_at(saturday, config(), ZONES) == local(NY, 2025, 3, 10, 10)


def test_scheduled_at_in_the_future_inside_the_window_is_kept() -> None:
    scheduled = local(NY, 2025, 3, 4, 15, 45)
    assert first_attempt_at(MONDAY_NOON, config(), ZONES, scheduled_at=scheduled) == scheduled


def test_scheduled_at_in_the_future_outside_the_window_moves_into_it() -> None:
    scheduled = local(NY, 2025, 3, 4, 20, 0)  # Tuesday evening
    expected = local(NY, 2025, 3, 5, 10, 0)
    assert first_attempt_at(MONDAY_NOON, config(), ZONES, scheduled_at=scheduled) == expected


def test_scheduled_at_in_the_past_means_now() -> None:
    past = MONDAY_NOON - timedelta(days=30)
    assert first_attempt_at(MONDAY_NOON, config(), ZONES, scheduled_at=past) == MONDAY_NOON
    evening = local(NY, 2025, 3, 3, 19, 0)
    expected = local(NY, 2025, 3, 4, 10, 0)
    assert first_attempt_at(evening, config(), ZONES, scheduled_at=past) == expected


def test_scheduled_at_with_skip_calling_window_is_exact() -> None:
    night = local(NY, 2025, 3, 8, 3, 0)
    assert first_attempt_at(MONDAY_NOON - timedelta(days=3), config(), ZONES, night, True) == night


def test_naive_scheduled_at_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        first_attempt_at(MONDAY_NOON, config(), ZONES, scheduled_at=datetime(2025, 3, 4, 12))


# --- which results are retried --------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "finished"),
    [
        ("human", "human_reached"),
        ("IVR", None),
        ("voicemail", None),
        ("unknown", None),
        ("ios-screening-filter", None),
        (None, None),  # never answered, or ended in error (e.g. a worker died)
        ("busy", None),
        ("no_answer", None),
        ("too_many_calls", None),
        ("temporarily_unavailable", None),
        ("precondition_failed", None),
        ("non_classified_error", None),
        ("number_non_attributed", "non_retryable"),
        ("no_international_permission", "non_retryable"),
        (AttemptOutcome(result="human"), "human_reached"),
        (AttemptOutcome(result="voicemail", dial_error=None), None),
        (AttemptOutcome(dial_error="number_non_attributed"), "non_retryable"),
    ],
)
def test_what_is_retried(last: LastResult, finished: str | None) -> None:
    decision = next_attempt(MONDAY_NOON, 1, last, MONDAY_NOON, config(), ZONES)
    assert decision.finished == finished
    assert decision.is_finished is (finished is not None)
    assert (decision.retry_at is None) is (finished is not None)


def test_every_sdk_literal_is_classified() -> None:
    assert {r for r in ATTEMPT_RESULTS if outcome_of(r).reached_human} == {"human"}
    assert {e for e in DIAL_ERRORS if not outcome_of(e).retryable} == PERMANENT_DIAL_ERRORS
    with pytest.raises(ValueError, match="neither"):
        outcome_of("hung_up")  # type: ignore[arg-type]


def test_human_reached_ends_the_order_even_with_attempts_left() -> None:
    decision = next_attempt(MONDAY_NOON, 1, "human", MONDAY_NOON, config(max_attempts=5), ZONES)
    assert decision == RetryDecision(finished="human_reached")


def test_human_reached_on_the_last_attempt_says_so() -> None:
    decision = next_attempt(MONDAY_NOON, 3, "human", MONDAY_NOON, config(max_attempts=3), ZONES)
    assert decision.finished == "human_reached"


# --- delays and the attempt budget ---------------------------------------------------


def test_retry_after_the_windows_delay_counted_from_the_end() -> None:
    started = local(NY, 2025, 3, 3, 10, 0)
    ended = local(NY, 2025, 3, 3, 10, 1)
    decision = next_attempt(ended, 1, "busy", started, config(), ZONES)
    assert decision.retry_at == local(NY, 2025, 3, 3, 12, 1)


def test_zero_delay_retries_as_soon_as_the_window_allows() -> None:
    cfg = config(windows=[("10:00", "18:00", 0)])
    ended = local(NY, 2025, 3, 3, 11, 0)
    assert next_attempt(ended, 1, "no_answer", ended, cfg, ZONES).retry_at == ended
    friday_late = local(NY, 2025, 3, 7, 18, 0)
    retry = next_attempt(friday_late, 1, "no_answer", friday_late, cfg, ZONES).retry_at
    assert retry == local(NY, 2025, 3, 10, 10, 0)


def test_delay_running_past_the_window_goes_to_the_next_allowed_day() -> None:
    started = local(NY, 2025, 3, 7, 16, 30)  # Friday
    ended = local(NY, 2025, 3, 7, 16, 31)
    decision = next_attempt(ended, 1, "voicemail", started, config(), ZONES)
    assert decision.retry_at == local(NY, 2025, 3, 10, 10, 0)  # Monday


def test_each_window_has_its_own_delay() -> None:
    cfg = config(windows=[("09:00", "12:00", 600), ("14:00", "18:00", 3600)])
    morning = local(NY, 2025, 3, 3, 9, 30)
    afternoon = local(NY, 2025, 3, 3, 15, 0)
    assert next_attempt(morning, 1, "busy", morning, cfg, ZONES).retry_at == morning + timedelta(
        minutes=10
    )
    assert next_attempt(afternoon, 1, "busy", afternoon, cfg, ZONES).retry_at == (
        afternoon + timedelta(hours=1)
    )
    # 11:55 + 10 minutes is lunch: the afternoon window opens at 14:00.
    late_morning = local(NY, 2025, 3, 3, 11, 55)
    assert next_attempt(late_morning, 1, "busy", late_morning, cfg, ZONES).retry_at == local(
        NY, 2025, 3, 3, 14, 0
    )
    assert retry_delay_seconds(morning, cfg, ZONES) == 600


def test_attempt_outside_every_window_takes_the_first_windows_delay() -> None:
    cfg = config(windows=[("09:00", "12:00", 600), ("14:00", "18:00", 3600)])
    night = local(NY, 2025, 3, 3, 22, 0)
    assert retry_delay_seconds(night, cfg, ZONES) == 600


@pytest.mark.parametrize(
    ("max_attempts", "attempts_made", "finished"),
    [
        (1, 1, "attempts_exhausted"),
        (2, 1, None),
        (2, 2, "attempts_exhausted"),
        (3, 2, None),
        (3, 3, "attempts_exhausted"),
        (3, 4, "attempts_exhausted"),
        (0, 1, "attempts_exhausted"),  # a single attempt at least
    ],
)
def test_max_retry_attempts_counts_every_attempt_the_first_included(
    max_attempts: int, attempts_made: int, finished: str | None
) -> None:
    cfg = config(max_attempts=max_attempts)
    decision = next_attempt(MONDAY_NOON, attempts_made, "no_answer", MONDAY_NOON, cfg, ZONES)
    assert decision.finished == finished


def test_attempts_made_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        next_attempt(MONDAY_NOON, 0, None, MONDAY_NOON, config(), ZONES)


def test_call_twice_in_a_row_makes_attempt_two_immediate_then_delays_apply() -> None:
    cfg = config(twice=True, max_attempts=3)
    ended = local(NY, 2025, 3, 3, 10, 2)
    assert next_attempt(ended, 1, "no_answer", ended, cfg, ZONES).retry_at == ended
    after_second = ended + timedelta(minutes=1)
    assert next_attempt(after_second, 2, "no_answer", ended, cfg, ZONES).retry_at == (
        after_second + timedelta(hours=2)
    )


def test_call_twice_in_a_row_still_honours_windows_and_days() -> None:
    cfg = config(twice=True)
    friday_close = local(NY, 2025, 3, 7, 18, 0)
    decision = next_attempt(friday_close, 1, "busy", friday_close, cfg, ZONES)
    assert decision.retry_at == local(NY, 2025, 3, 10, 10, 0)


def test_call_twice_in_a_row_needs_a_second_attempt() -> None:
    cfg = config(twice=True, max_attempts=1)
    decision = next_attempt(MONDAY_NOON, 1, "busy", MONDAY_NOON, cfg, ZONES)
    assert decision.finished == "attempts_exhausted"


def test_skip_calling_window_retries_after_the_delay_at_any_hour() -> None:
    night = local(NY, 2025, 3, 8, 23, 0)  # Saturday night
    decision = next_attempt(night, 1, "busy", night, config(), ZONES, skip_calling_window=True)
    assert decision.retry_at == night + timedelta(hours=2)


def test_retry_in_the_recipients_zone_not_the_callers() -> None:
    # An attempt to Kolkata ending at 17:30 IST (12:00 UTC) retries next morning IST.
    started = local("Asia/Kolkata", 2025, 3, 3, 17, 0)
    ended = local("Asia/Kolkata", 2025, 3, 3, 17, 30)
    decision = next_attempt(ended, 1, "busy", started, config(), ["Asia/Kolkata"])
    assert decision.retry_at == local("Asia/Kolkata", 2025, 3, 4, 10, 0)


# --- a whole order on a fake clock ---------------------------------------------------


def _run_order(
    clock: FakeClock, cfg: dict[str, object], results: list[LastResult], call_length: float
) -> tuple[list[datetime], RetryDecision]:
    """Dial at each planned time until the policy stops; return the attempt times."""
    at = first_attempt_at(clock.now, cfg, ZONES)
    started: list[datetime] = []
    for result in results:
        started.append(clock.set(at))
        clock.advance(seconds=call_length)
        decision = next_attempt(clock.now, len(started), result, started[-1], cfg, ZONES)
        if decision.retry_at is None:
            return started, decision
        at = decision.retry_at
    raise AssertionError("the policy never stopped")


def test_an_order_that_never_reaches_anyone() -> None:
    clock = FakeClock(local(NY, 2025, 3, 7, 15, 0))  # Friday afternoon
    cfg = config(max_attempts=4, twice=True)
    started, decision = _run_order(clock, cfg, ["no_answer"] * 10, call_length=60)
    assert started == [
        local(NY, 2025, 3, 7, 15, 0),
        local(NY, 2025, 3, 7, 15, 1),  # twice in a row
        local(NY, 2025, 3, 7, 17, 2),  # two hours later
        local(NY, 2025, 3, 10, 10, 0),  # 19:03 is closed; Monday morning
    ]
    assert decision.finished == "attempts_exhausted"


def test_an_order_that_reaches_a_human_on_the_third_attempt() -> None:
    clock = FakeClock(local(NY, 2025, 3, 8, 9, 0))  # Saturday
    cfg = config(windows=[("10:00", "18:00", 0)], days=ALL_DAYS, max_attempts=5)
    started, decision = _run_order(
        clock, cfg, ["busy", "voicemail", "human", "busy"], call_length=30
    )
    assert started == [
        local(NY, 2025, 3, 8, 10, 0),
        local(NY, 2025, 3, 8, 10, 0) + timedelta(seconds=30),
        local(NY, 2025, 3, 8, 10, 1),
    ]
    assert decision.finished == "human_reached"
