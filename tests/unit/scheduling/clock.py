"""A fake clock and instant builders for the scheduling tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """An aware UTC instant."""
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def local(zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    """The UTC instant of a wall-clock time in ``zone`` (``fold=1``: its second occurrence)."""
    return datetime(y, mo, d, h, mi, fold=fold, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: datetime

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, instant: datetime) -> datetime:
        assert instant >= self.now, "a clock never goes back"
        self.now = instant
        return self.now


def config(
    windows: list[tuple[str, str, int]] | None = None,
    days: list[str] | None = None,
    max_attempts: int = 3,
    twice: bool = False,
    timezone: str | None = None,
) -> dict[str, object]:
    """A retry config in wire form; defaults as the platform's (Mon-Fri, 10:00-18:00, 2 h)."""
    return {
        "allowed_days": days
        if days is not None
        else ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "calling_windows": [
            {
                "calling_window_start_time": start,
                "calling_window_end_time": end,
                "retry_delay_seconds": delay,
            }
            for start, end, delay in (windows or [("10:00", "18:00", 7200)])
        ],
        "max_retry_attempts": max_attempts,
        "call_twice_in_a_row": twice,
        "timezone": timezone,
    }


ALL_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
