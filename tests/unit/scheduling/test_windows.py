"""Calling windows and allowed days in the recipient's zone, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from openrevox.domain.scheduling import (
    InvalidRetryConfig,
    NoCallingTime,
    is_allowed,
    next_allowed_instant,
    read_retry_config,
    window_at,
)
from tests.unit.scheduling.clock import ALL_DAYS, config, local, utc

NY = "America/New_York"
PARIS = "Europe/Paris"
KOLKATA = "Asia/Kolkata"
DEFAULT = config()


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday 3 March 2025 (EST, UTC-5).
        (local(NY, 2025, 3, 3, 9, 0), local(NY, 2025, 3, 3, 10, 0)),  # before the window
        (local(NY, 2025, 3, 3, 10, 0), local(NY, 2025, 3, 3, 10, 0)),  # its first instant
        (local(NY, 2025, 3, 3, 12, 34), local(NY, 2025, 3, 3, 12, 34)),  # inside
        (local(NY, 2025, 3, 3, 17, 59), local(NY, 2025, 3, 3, 17, 59)),
        (local(NY, 2025, 3, 3, 18, 0), local(NY, 2025, 3, 4, 10, 0)),  # the end is excluded
        (local(NY, 2025, 3, 7, 18, 30), local(NY, 2025, 3, 10, 10, 0)),  # Friday evening
        (local(NY, 2025, 3, 8, 11, 0), local(NY, 2025, 3, 10, 10, 0)),  # Saturday
        (local(NY, 2025, 3, 9, 23, 59), local(NY, 2025, 3, 10, 10, 0)),  # Sunday night
    ],
)
def test_new_york_default_window(now: datetime, expected: datetime) -> None:
    assert next_allowed_instant(now, DEFAULT, [NY]) == expected


def test_monday_is_allowed_before_the_utc_date_changes() -> None:
    # 23:00 UTC on Sunday is already Monday 10:00 in Sydney (AEDT, UTC+11).
    now = utc(2025, 3, 2, 23, 0)
    assert next_allowed_instant(now, DEFAULT, ["Australia/Sydney"]) == now


@pytest.mark.parametrize(
    ("start", "end", "inside", "outside"),
    [
        ("9am", "5:30pm", (17, 29), (17, 30)),
        ("9:15AM", "12pm", (11, 59), (12, 0)),
        ("12am", "1am", (0, 30), (1, 0)),
        ("08:00", "24:00", (23, 59), (7, 59)),
    ],
)
def test_12_hour_and_24_hour_formats(
    start: str, end: str, inside: tuple[int, int], outside: tuple[int, int]
) -> None:
    cfg = config(windows=[(start, end, 60)], days=ALL_DAYS)
    assert is_allowed(local(PARIS, 2025, 6, 4, *inside), cfg, [PARIS])
    assert not is_allowed(local(PARIS, 2025, 6, 4, *outside), cfg, [PARIS])


def test_half_hour_offset_kolkata() -> None:
    # IST is UTC+5:30: the 10:00 window opens at 04:30 UTC.
    assert next_allowed_instant(utc(2025, 3, 3, 0, 0), DEFAULT, [KOLKATA]) == utc(2025, 3, 3, 4, 30)
    assert is_allowed(utc(2025, 3, 3, 12, 29), DEFAULT, [KOLKATA])
    assert not is_allowed(utc(2025, 3, 3, 12, 30), DEFAULT, [KOLKATA])


def test_paris_winter_and_summer() -> None:
    assert next_allowed_instant(utc(2025, 1, 6, 0), DEFAULT, [PARIS]) == utc(2025, 1, 6, 9, 0)
    assert next_allowed_instant(utc(2025, 7, 7, 0), DEFAULT, [PARIS]) == utc(2025, 7, 7, 8, 0)


def test_several_windows_and_which_one_an_instant_is_in() -> None:
    cfg = config(windows=[("09:00", "12:00", 600), ("14:00", "18:00", 3600)])
    lunch = local(NY, 2025, 3, 3, 13, 0)
    assert next_allowed_instant(lunch, cfg, [NY]) == local(NY, 2025, 3, 3, 14, 0)
    morning = window_at(local(NY, 2025, 3, 3, 11, 0), cfg, [NY])
    afternoon = window_at(local(NY, 2025, 3, 3, 15, 0), cfg, [NY])
    assert morning is not None and (morning.index, morning.retry_delay_seconds) == (0, 600)
    assert afternoon is not None and (afternoon.index, afternoon.retry_delay_seconds) == (1, 3600)
    assert window_at(lunch, cfg, [NY]) is None
    # Days are ignored: a Saturday 10:00 is still "in" the morning window.
    saturday = window_at(local(NY, 2025, 3, 8, 10, 0), cfg, [NY])
    assert saturday is not None and saturday.index == 0


def test_window_ending_at_24_00_reaches_midnight() -> None:
    cfg = config(windows=[("20:00", "24:00", 0)], days=["monday"])
    assert is_allowed(local(NY, 2025, 3, 3, 23, 59), cfg, [NY])
    assert not is_allowed(local(NY, 2025, 3, 4, 0, 0), cfg, [NY])  # Tuesday
    window = window_at(local(NY, 2025, 3, 3, 23, 59), cfg, [NY])
    assert window is not None and window.end == time.max


def test_whole_days_touch_across_midnight() -> None:
    cfg = config(windows=[("00:00", "24:00", 0)], days=["saturday", "sunday"])
    friday_night = local(NY, 2025, 3, 7, 23, 0)
    assert next_allowed_instant(friday_night, cfg, [NY]) == local(NY, 2025, 3, 8, 0, 0)
    assert is_allowed(local(NY, 2025, 3, 9, 0, 0), cfg, [NY])  # Saturday to Sunday
    assert not is_allowed(local(NY, 2025, 3, 10, 0, 0), cfg, [NY])  # Monday


def test_only_one_day_a_week_is_found_a_week_ahead() -> None:
    cfg = config(days=["sunday"])
    after = local(NY, 2025, 3, 9, 18, 0)  # Sunday, window just closed
    assert next_allowed_instant(after, cfg, [NY]) == local(NY, 2025, 3, 16, 10, 0)


@pytest.mark.parametrize(
    "cfg",
    [
        config(days=[]),
        {**config(), "calling_windows": []},
        config(windows=[("18:00", "10:00", 0)]),  # start after end: never
        config(windows=[("10:00", "10:00", 0)]),
    ],
    ids=["no-day", "no-window", "reversed-window", "empty-window"],
)
def test_a_config_that_never_allows_is_an_error(cfg: dict[str, object]) -> None:
    with pytest.raises(NoCallingTime, match="never match"):
        next_allowed_instant(utc(2025, 3, 3, 12), cfg, [NY])
    assert not is_allowed(utc(2025, 3, 3, 12), cfg, [NY])


def test_skip_calling_window_bypasses_windows_and_days() -> None:
    sunday_night = local(NY, 2025, 3, 9, 3, 0)
    assert next_allowed_instant(sunday_night, DEFAULT, [NY], skip_calling_window=True) == (
        sunday_night
    )
    assert is_allowed(sunday_night, DEFAULT, [NY], skip_calling_window=True)
    assert not is_allowed(sunday_night, DEFAULT, [NY])
    # Even a config that never allows anything.
    never = config(days=[])
    assert next_allowed_instant(sunday_night, never, [NY], skip_calling_window=True) == (
        sunday_night
    )


def test_override_timezone_wins_over_the_numbers_zones() -> None:
    cfg = config(timezone="Asia/Tokyo")
    # Monday 10:00 in Tokyo (UTC+9) is 01:00 UTC, whatever zones the number has.
    assert next_allowed_instant(utc(2025, 3, 3, 0), cfg, [NY]) == utc(2025, 3, 3, 1, 0)
    assert next_allowed_instant(utc(2025, 3, 3, 0), cfg, []) == utc(2025, 3, 3, 1, 0)


def test_unknown_override_timezone_is_refused() -> None:
    with pytest.raises(InvalidRetryConfig, match="not an IANA time zone"):
        next_allowed_instant(utc(2025, 3, 3), config(timezone="Mars/Olympus"), [NY])


def test_no_zone_means_utc() -> None:
    assert next_allowed_instant(utc(2025, 3, 3, 0), DEFAULT, []) == utc(2025, 3, 3, 10, 0)


def test_result_is_utc_whatever_zone_now_is_given_in() -> None:
    now = datetime(2025, 3, 3, 9, 0, tzinfo=timezone(timedelta(hours=-5)))  # 14:00 UTC
    result = next_allowed_instant(now, DEFAULT, [NY])
    assert result == utc(2025, 3, 3, 15, 0)
    assert result.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        next_allowed_instant(datetime(2025, 3, 3, 12), DEFAULT, [NY])
    with pytest.raises(ValueError, match="no time zone"):
        is_allowed(datetime(2025, 3, 3, 12), DEFAULT, [NY])


def test_microseconds_of_now_are_kept_inside_a_window() -> None:
    now = local(NY, 2025, 3, 3, 12, 0) + timedelta(microseconds=123)
    assert next_allowed_instant(now, DEFAULT, [NY]) == now


def test_missing_keys_and_none_take_the_defaults() -> None:
    # SDK 0.1.1 sends neither allowed_days nor call_twice_in_a_row.
    legacy = {
        "calling_windows": [
            {
                "calling_window_start_time": "09:00",
                "calling_window_end_time": "17:00",
                "retry_delay_seconds": 60,
            }
        ],
        "max_retry_attempts": 2,
    }
    policy = read_retry_config(legacy)
    assert policy.allowed_days == frozenset(range(5))
    assert policy.call_twice_in_a_row is False
    assert policy.timezone is None
    saturday = local(NY, 2025, 3, 8, 12)
    assert next_allowed_instant(saturday, legacy, [NY]) == local(NY, 2025, 3, 10, 9)
    assert next_allowed_instant(saturday, None, [NY]) == local(NY, 2025, 3, 10, 10)
    assert read_retry_config(policy) is policy


@pytest.mark.parametrize(
    "cfg",
    [
        config(days=["funday"]),
        config(windows=[("25:00", "26:00", 0)]),
        {"calling_windows": [{"calling_window_start_time": "10:00"}]},
    ],
)
def test_unreadable_configs_are_refused(cfg: dict[str, object]) -> None:
    with pytest.raises(InvalidRetryConfig):
        read_retry_config(cfg)
