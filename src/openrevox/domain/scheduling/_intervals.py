"""Allowed time as sorted UTC intervals ``[start, end)``, exact across DST changes.

An instant is inside a zone's windows when its wall-clock time there lies in a window on
an allowed day. Time is cut into spans of constant UTC offset; within a span, wall time
is UTC shifted by the offset, so a window is one subtraction away. A window edge that
falls in a spring-forward gap thus moves to the transition, and a window touching a
fall-back hour covers both occurrences of its wall times, exactly as the wall clock reads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]
Span = tuple[time, time]  # a window's local [start, end); time.max is the end of the day

_DAY = timedelta(days=1)
_HOUR = 3600


def zone_intervals(
    zone: ZoneInfo, days: frozenset[int], spans: tuple[Span, ...], start: datetime, end: datetime
) -> list[Interval]:
    """The allowed intervals of one zone within ``[start, end)`` (aware UTC)."""
    pieces: list[Interval] = []
    day = start.date() - _DAY
    while day <= end.date():
        pieces.extend(_day_intervals(zone, days, spans, day))
        day += _DAY
    return _clip(_merge(pieces), start, end)


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The instants in both interval lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


@lru_cache(maxsize=16384)
def _day_intervals(
    zone: ZoneInfo, days: frozenset[int], spans: tuple[Span, ...], day: date
) -> tuple[Interval, ...]:
    """Allowed intervals within the UTC day ``[day, day + 1)``."""
    start = datetime.combine(day, time(), UTC)
    end = start + _DAY
    out: list[Interval] = []
    for s, e in pairwise([start, *_transitions(zone, day), end]):
        offset = _offset(zone, s)
        local_start = (s + offset).replace(tzinfo=None)
        local_end = (e + offset).replace(tzinfo=None)
        local_day = local_start.date()
        while local_day <= local_end.date():
            if local_day.weekday() in days:
                for w_start, w_end in spans:
                    lo = max(datetime.combine(local_day, w_start), local_start)
                    hi = min(_window_end(local_day, w_end), local_end)
                    if lo < hi:
                        out.append(
                            ((lo - offset).replace(tzinfo=UTC), (hi - offset).replace(tzinfo=UTC))
                        )
            local_day += _DAY
    return tuple(_merge(out))


def _window_end(day: date, end: time) -> datetime:
    return datetime.combine(day + _DAY, time()) if end == time.max else datetime.combine(day, end)


@lru_cache(maxsize=16384)
def _transitions(zone: ZoneInfo, day: date) -> tuple[datetime, ...]:
    """Instants strictly inside the UTC day where the zone's UTC offset changes."""
    start = int(datetime.combine(day, time(), UTC).timestamp())
    found: list[datetime] = []
    previous, previous_offset = start, _offset_at(zone, start)
    for probe in range(start + _HOUR, start + 24 * _HOUR + 1, _HOUR):
        offset = _offset_at(zone, probe)
        if offset != previous_offset:
            lo, hi = previous, probe  # the offset changes in (lo, hi], to the second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if _offset_at(zone, mid) == previous_offset else (lo, mid)
            if hi < start + 24 * _HOUR:
                found.append(datetime.fromtimestamp(hi, UTC))
            previous_offset = offset
        previous = probe
    return tuple(found)


def _offset_at(zone: ZoneInfo, timestamp: int) -> timedelta:
    return _offset(zone, datetime.fromtimestamp(timestamp, UTC))


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset


def _merge(intervals: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _clip(intervals: list[Interval], start: datetime, end: datetime) -> list[Interval]:
    return [(max(lo, start), min(hi, end)) for lo, hi in intervals if hi > start and lo < end]
