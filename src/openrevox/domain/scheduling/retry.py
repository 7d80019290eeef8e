"""The retry policy: when the next attempt of a call order happens, or why there is none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeAlias, get_args

from openrevox.domain.scheduling.policy import RetryConfig, read_retry_config
from openrevox.domain.scheduling.windows import Zones, next_allowed_instant, utc, window_at

# The SDK's attempt ``result`` and ``dial_error`` (call_retrieve_response.py).
AttemptResult = Literal["IVR", "voicemail", "human", "unknown", "ios-screening-filter"]
DialError = Literal[
    "number_non_attributed",
    "too_many_calls",
    "busy",
    "temporarily_unavailable",
    "no_answer",
    "no_international_permission",
    "precondition_failed",
    "non_classified_error",
]
FinishReason = Literal["human_reached", "attempts_exhausted", "non_retryable"]

ATTEMPT_RESULTS: tuple[AttemptResult, ...] = get_args(AttemptResult)
DIAL_ERRORS: tuple[DialError, ...] = get_args(DialError)
# Only "human" reached a human; IVR (not navigated to a person), voicemail, the iOS
# call-screening filter, "unknown" and no result (never answered) did not.
HUMAN_RESULTS: frozenset[AttemptResult] = frozenset({"human"})
# Dial errors that will happen again on every try: the order ends instead of retrying.
PERMANENT_DIAL_ERRORS: frozenset[DialError] = frozenset(
    {"number_non_attributed", "no_international_permission"}
)


@dataclass(frozen=True)
class AttemptOutcome:
    """How an attempt ended, in the SDK's terms."""

    result: AttemptResult | None = None
    dial_error: DialError | None = None

    @property
    def reached_human(self) -> bool:
        return self.result in HUMAN_RESULTS

    @property
    def retryable(self) -> bool:
        return self.dial_error not in PERMANENT_DIAL_ERRORS


LastResult: TypeAlias = AttemptOutcome | AttemptResult | DialError | None


@dataclass(frozen=True)
class RetryDecision:
    """Either retry at ``retry_at`` or stop, ``finished`` saying why."""

    retry_at: datetime | None = None
    finished: FinishReason | None = None

    @property
    def is_finished(self) -> bool:
        return self.finished is not None


def outcome_of(last_result: LastResult) -> AttemptOutcome:
    """An ``AttemptOutcome`` from itself, a ``result`` literal or a ``dial_error`` literal."""
    if isinstance(last_result, AttemptOutcome):
        return last_result
    if last_result is None:
        return AttemptOutcome()
    if last_result in ATTEMPT_RESULTS:
        return AttemptOutcome(result=last_result)
    if last_result in DIAL_ERRORS:
        return AttemptOutcome(dial_error=last_result)
    raise ValueError(f"{last_result!r} is neither an attempt result nor a dial error")


def first_attempt_at(
    now: datetime,
    retry_config: RetryConfig,
    zones: Zones,
    scheduled_at: datetime | None = None,
    skip_calling_window: bool = False,
) -> datetime:
    """When attempt 1 happens: ``max(now, scheduled_at)`` moved into the next window."""
    start = utc(now) if scheduled_at is None else max(utc(now), utc(scheduled_at))
    return next_allowed_instant(start, retry_config, zones, skip_calling_window=skip_calling_window)


def next_attempt(
    now: datetime,
    attempts_made: int,
    last_result: LastResult,
    last_attempt_started_at: datetime,
    retry_config: RetryConfig,
    zones: Zones,
    skip_calling_window: bool = False,
) -> RetryDecision:
    """After an attempt ends at ``now``: retry (when) or finish (why).

    ``attempts_made`` counts every attempt so far, the one that just ended included;
    ``max_retry_attempts`` bounds it. The delay is the ``retry_delay_seconds`` of the
    window the ended attempt started in, counted from ``now``; zero when attempt 2
    follows attempt 1 with ``call_twice_in_a_row``. Windows and days still apply.
    """
    if attempts_made < 1:
        raise ValueError("attempts_made counts the attempt that just ended: it is at least 1")
    policy = read_retry_config(retry_config)
    outcome = outcome_of(last_result)
    if outcome.reached_human:
        return RetryDecision(finished="human_reached")
    if not outcome.retryable:
        return RetryDecision(finished="non_retryable")
    if attempts_made >= max(1, policy.max_retry_attempts):
        return RetryDecision(finished="attempts_exhausted")
    if attempts_made == 1 and policy.call_twice_in_a_row:
        delay = 0
    else:
        delay = retry_delay_seconds(last_attempt_started_at, policy, zones)
    at = next_allowed_instant(
        utc(now) + timedelta(seconds=delay),
        policy,
        zones,
        skip_calling_window=skip_calling_window,
    )
    return RetryDecision(retry_at=at)


def retry_delay_seconds(
    attempt_started_at: datetime, retry_config: RetryConfig, zones: Zones
) -> int:
    """The delay after an attempt: its window's, else (started outside every window,
    e.g. with ``skip_calling_window``) the first configured window's; 0 without windows."""
    policy = read_retry_config(retry_config)
    window = window_at(attempt_started_at, policy, zones)
    if window is None:
        return policy.windows[0].retry_delay_seconds if policy.windows else 0
    return window.retry_delay_seconds
