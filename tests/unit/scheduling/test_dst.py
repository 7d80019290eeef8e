"""Daylight-saving changes: windows follow the wall clock, through gaps and repeated hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from openrevox.domain.scheduling import is_allowed, next_allowed_instant, read_retry_config
from openrevox.domain.scheduling.policy import RetryPolicy
from tests.unit.scheduling.clock import ALL_DAYS, config, local, utc

NY = "America/New_York"
LORD_HOWE = "Australia/Lord_Howe"  # DST moves the clock by 30 minutes


def test_default_window_moves_with_new_york_dst() -> None:
    cfg = config()
    # Monday before (EST, UTC-5) and after (EDT, UTC-4) the spring-forward Sunday.
    assert next_allowed_instant(utc(2025, 3, 3, 0), cfg, [NY]) == utc(2025, 3, 3, 15, 0)
    assert next_allowed_instant(utc(2025, 3, 10, 0), cfg, [NY]) == utc(2025, 3, 10, 14, 0)
    # And back in November.
    assert next_allowed_instant(utc(2025, 10, 27, 0), cfg, [NY]) == utc(2025, 10, 27, 14, 0)
    assert next_allowed_instant(utc(2025, 11, 3, 0), cfg, [NY]) == utc(2025, 11, 3, 15, 0)


def test_spring_forward_window_start_in_the_gap_opens_at_the_transition() -> None:
    # 9 March 2025: 02:00 EST jumps to 03:00 EDT (07:00 UTC); 02:30 never happens.
    cfg = config(windows=[("02:30", "04:00", 0)], days=ALL_DAYS)
    assert next_allowed_instant(utc(2025, 3, 9, 5), cfg, [NY]) == utc(2025, 3, 9, 7, 0)
    assert is_allowed(utc(2025, 3, 9, 7, 59), cfg, [NY])  # 03:59 EDT
    assert not is_allowed(utc(2025, 3, 9, 8, 0), cfg, [NY])  # 04:00 EDT


def test_spring_forward_window_end_in_the_gap_closes_at_the_transition() -> None:
    cfg = config(windows=[("01:00", "02:30", 0)], days=ALL_DAYS)
    assert is_allowed(utc(2025, 3, 9, 6, 0), cfg, [NY])  # 01:00 EST
    assert is_allowed(utc(2025, 3, 9, 6, 59), cfg, [NY])  # 01:59 EST
    assert not is_allowed(utc(2025, 3, 9, 7, 0), cfg, [NY])  # 03:00 EDT
    assert next_allowed_instant(utc(2025, 3, 9, 7, 0), cfg, [NY]) == utc(2025, 3, 10, 5, 0)


def test_a_window_wholly_in_the_gap_does_not_exist_that_day() -> None:
    cfg = config(windows=[("02:10", "02:50", 0)], days=ALL_DAYS)
    # Saturday's window is 07:10-07:50 UTC; Sunday's is skipped; Monday's is EDT.
    assert next_allowed_instant(utc(2025, 3, 8, 8), cfg, [NY]) == utc(2025, 3, 10, 6, 10)


def test_fall_back_repeated_hour_is_allowed_both_times() -> None:
    # 2 November 2025: 02:00 EDT goes back to 01:00 EST; 01:00-02:00 happens twice.
    cfg = config(windows=[("01:00", "01:30", 0)], days=ALL_DAYS)
    first = local(NY, 2025, 11, 2, 1, 0, fold=0)
    second = local(NY, 2025, 11, 2, 1, 0, fold=1)
    assert (first, second) == (utc(2025, 11, 2, 5, 0), utc(2025, 11, 2, 6, 0))
    assert next_allowed_instant(utc(2025, 11, 2, 4, 0), cfg, [NY]) == first
    assert not is_allowed(utc(2025, 11, 2, 5, 30), cfg, [NY])  # 01:30 EDT
    assert next_allowed_instant(utc(2025, 11, 2, 5, 30), cfg, [NY]) == second
    assert is_allowed(utc(2025, 11, 2, 6, 29), cfg, [NY])
    assert not is_allowed(utc(2025, 11, 2, 6, 30), cfg, [NY])


def test_fall_back_day_is_25_hours_long() -> None:
    cfg = config(windows=[("00:00", "24:00", 0)], days=["sunday"])
    assert is_allowed(utc(2025, 11, 2, 4, 0), cfg, [NY])  # 00:00 EDT
    assert is_allowed(utc(2025, 11, 3, 4, 59), cfg, [NY])  # 23:59 EST
    assert not is_allowed(utc(2025, 11, 3, 5, 0), cfg, [NY])  # Monday 00:00 EST


def test_lord_howe_half_hour_fall_back() -> None:
    # 6 April 2025: 02:00 LHDT (UTC+11) goes back to 01:30 LHST (UTC+10:30) at 15:00 UTC.
    cfg = config(windows=[("01:45", "02:15", 0)], days=ALL_DAYS)
    assert next_allowed_instant(utc(2025, 4, 5, 14, 0), cfg, [LORD_HOWE]) == utc(2025, 4, 5, 14, 45)
    assert not is_allowed(utc(2025, 4, 5, 15, 5), cfg, [LORD_HOWE])  # 01:35 LHST
    assert next_allowed_instant(utc(2025, 4, 5, 15, 0), cfg, [LORD_HOWE]) == utc(2025, 4, 5, 15, 15)
    assert is_allowed(utc(2025, 4, 5, 15, 44), cfg, [LORD_HOWE])
    assert not is_allowed(utc(2025, 4, 5, 15, 45), cfg, [LORD_HOWE])


def test_lord_howe_half_hour_spring_forward() -> None:
    # 5 October 2025: 02:00 LHST (UTC+10:30) jumps to 02:30 LHDT at 15:30 UTC on the 4th.
    cfg = config(windows=[("02:10", "03:00", 0)], days=ALL_DAYS)
    assert next_allowed_instant(utc(2025, 10, 4, 15, 0), cfg, [LORD_HOWE]) == utc(
        2025, 10, 4, 15, 30
    )
    assert not is_allowed(utc(2025, 10, 4, 16, 0), cfg, [LORD_HOWE])  # 03:00 LHDT


def test_lord_howe_default_window_before_and_after_dst() -> None:
    cfg = config()
    # Monday 10:00 at UTC+11 (summer) then UTC+10:30 (winter).
    assert next_allowed_instant(utc(2025, 3, 30, 12), cfg, [LORD_HOWE]) == utc(2025, 3, 30, 23, 0)
    assert next_allowed_instant(utc(2025, 4, 6, 12), cfg, [LORD_HOWE]) == utc(2025, 4, 6, 23, 30)


def test_midnight_transition_in_santiago() -> None:
    # 7 September 2025: Chile's clocks go from 00:00 to 01:00; Sunday starts at 01:00.
    cfg = config(windows=[("00:00", "24:00", 0)], days=["sunday"])
    sunday = next_allowed_instant(utc(2025, 9, 6, 12), cfg, ["America/Santiago"])
    assert sunday == utc(2025, 9, 7, 4, 0)
    assert sunday.astimezone(ZoneInfo("America/Santiago")).hour == 1


# An oracle: an instant is allowed when its wall-clock time in every zone is in a window
# on an allowed day. Checked minute by minute around transitions, against the intervals.
SWEEPS = [
    (NY, utc(2025, 3, 8, 0)),
    (NY, utc(2025, 11, 1, 0)),
    ("Europe/Paris", utc(2025, 3, 29, 0)),
    ("Europe/Paris", utc(2025, 10, 25, 0)),
    (LORD_HOWE, utc(2025, 4, 4, 0)),
    (LORD_HOWE, utc(2025, 10, 3, 0)),
    ("Asia/Kolkata", utc(2025, 3, 8, 0)),
    ("America/Santiago", utc(2025, 9, 5, 0)),
    ("America/Santiago", utc(2025, 4, 4, 0)),
]
SWEEP_CONFIGS = [
    config(windows=[("00:30", "02:30", 0), ("22:00", "24:00", 0)], days=["saturday", "sunday"]),
    config(windows=[("01:15", "03:05", 0)], days=ALL_DAYS),
    config(windows=[("12am", "1:45am", 0), ("10am", "6pm", 0)], days=["sunday", "monday"]),
]


def _oracle(instant: datetime, policy: RetryPolicy, zones: list[str]) -> bool:
    for name in zones:
        wall = instant.astimezone(ZoneInfo(name))
        if wall.weekday() not in policy.allowed_days:
            return False
        t = wall.time().replace(tzinfo=None)
        if not any(w.start <= t and (t < w.end or w.end == time.max) for w in policy.windows):
            return False
    return True


@pytest.mark.parametrize(("zone", "start"), SWEEPS)
@pytest.mark.parametrize("cfg", SWEEP_CONFIGS)
def test_intervals_match_the_wall_clock_minute_by_minute(
    zone: str, start: datetime, cfg: dict[str, object]
) -> None:
    policy = read_retry_config(cfg)
    minutes = [start + timedelta(minutes=m) for m in range(0, 3 * 24 * 60)]
    truth = [_oracle(t, policy, [zone]) for t in minutes]
    assert [is_allowed(t, policy, [zone]) for t in minutes[::7]] == truth[::7]
    # next_allowed_instant is the first minute the oracle allows (boundaries are on minutes).
    for i in range(0, len(minutes), 41):
        expected = next((minutes[j] for j in range(i, len(minutes)) if truth[j]), None)
        if expected is not None:
            assert next_allowed_instant(minutes[i], policy, [zone]) == expected
