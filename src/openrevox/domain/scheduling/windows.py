"""Calling windows and allowed days in the recipient's zones (docs/scheduling.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from openrevox.domain.outcomes import WEEKDAYS
from openrevox.domain.scheduling._intervals import Interval, intersect, zone_intervals
from openrevox.domain.scheduling.errors import NoCallingTime
from openrevox.domain.scheduling.policy import (
    CallingWindow,
    RetryConfig,
    RetryPolicy,
    read_retry_config,
)
from openrevox.domain.scheduling.timezones import as_zones, zone

Zones = Sequence[ZoneInfo | str]

# How far ahead the next allowed instant is looked for: a week and a day covers every
# weekday in every zone, whatever the offset between UTC and local dates.
HORIZON = timedelta(days=8)


def next_allowed_instant(
    now: datetime,
    retry_config: RetryConfig,
    zones: Zones,
    *,
    skip_calling_window: bool = False,
) -> datetime:
    """The earliest instant ``>= now`` inside a calling window, on an allowed day.

    ``zones`` are the number's candidate zones (``retry_config["timezone"]`` wins when set).
    Raises ``NoCallingTime`` when nothing is allowed in the next ``HORIZON``.
    """
    now = utc(now)
    if skip_calling_window:
        return now
    policy = read_retry_config(retry_config)
    _, first = _plan(now, policy, zones)
    if first is None:
        raise NoCallingTime(
            f"no calling time in the {HORIZON.days} days from {now.isoformat()}: "
            f"allowed_days {_day_names(policy)} and calling_windows {_window_texts(policy)} "
            "never match"
        )
    return first


def allows_any_time(retry_config: RetryConfig) -> bool:
    """Whether every day and every time of day is allowed: then the recipient's zone
    changes nothing, and nobody need look it up."""
    policy = read_retry_config(retry_config)
    return len(policy.allowed_days) == 7 and any(
        w.start == time.min and w.end == time.max for w in policy.windows
    )


def is_allowed(
    instant: datetime,
    retry_config: RetryConfig,
    zones: Zones,
    *,
    skip_calling_window: bool = False,
) -> bool:
    """Whether calling is allowed at ``instant`` (a config that never allows is False)."""
    if skip_calling_window:
        return True
    instant = utc(instant)
    _, first = _plan(instant, read_retry_config(retry_config), zones)
    return first == instant


def effective_zones(now: datetime, retry_config: RetryConfig, zones: Zones) -> tuple[ZoneInfo, ...]:
    """The zones the rules apply in at ``now``: the override, every candidate zone, or
    the first one when the candidates' windows never overlap."""
    zones_in_force, _ = _plan(utc(now), read_retry_config(retry_config), zones)
    return zones_in_force


def window_at(instant: datetime, retry_config: RetryConfig, zones: Zones) -> CallingWindow | None:
    """The calling window whose local times of day contain ``instant``, days ignored.

    The zones in force are tried in order, and the windows in config order.
    """
    instant = utc(instant)
    policy = read_retry_config(retry_config)
    zones_in_force, _ = _plan(instant, policy, zones)
    for z in zones_in_force:
        local = instant.astimezone(z).time().replace(tzinfo=None)
        for window in policy.windows:
            if window.start <= local and (local < window.end or window.end == time.max):
                return window
    return None


def utc(instant: datetime) -> datetime:
    """An aware datetime in UTC; naive ones are refused (the clock must say its zone)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant.isoformat()} has no time zone; give an aware UTC datetime")
    return instant.astimezone(UTC)


def _plan(
    now: datetime, policy: RetryPolicy, zones: Zones
) -> tuple[tuple[ZoneInfo, ...], datetime | None]:
    """The zones in force and the first allowed instant in ``[now, now + HORIZON)``."""
    candidates = (zone(policy.timezone),) if policy.timezone else as_zones(zones)
    first = _first_allowed(now, policy, candidates)
    if first is None and len(candidates) > 1:
        candidates = candidates[:1]
        first = _first_allowed(now, policy, candidates)
    return candidates, first


def _first_allowed(
    now: datetime, policy: RetryPolicy, zones: tuple[ZoneInfo, ...]
) -> datetime | None:
    spans = tuple((w.start, w.end) for w in policy.windows if not w.is_empty)
    if not spans or not policy.allowed_days:
        return None
    end = now + HORIZON
    allowed: list[Interval] | None = None
    for z in zones:
        intervals = zone_intervals(z, policy.allowed_days, spans, now, end)
        allowed = intervals if allowed is None else intersect(allowed, intervals)
        if not allowed:
            return None
    return allowed[0][0] if allowed else None


def _day_names(policy: RetryPolicy) -> list[str]:
    return [WEEKDAYS[d] for d in sorted(policy.allowed_days)]


def _window_texts(policy: RetryPolicy) -> list[str]:
    def text(t: time) -> str:
        return "24:00" if t == time.max else t.strftime("%H:%M")

    return [f"{text(w.start)}-{text(w.end)}" for w in policy.windows]
