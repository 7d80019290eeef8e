"""The retry configuration (``call_retry_config`` in wire form) read into a typed policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any, TypeAlias

from openrevox.domain.assistant_defaults import DEFAULT_CALL_RETRY_CONFIG
from openrevox.domain.calling_windows import parse_window_time
from openrevox.domain.outcomes import WEEKDAYS
from openrevox.domain.scheduling.errors import InvalidRetryConfig


@dataclass(frozen=True)
class CallingWindow:
    """One calling window: local times of day ``[start, end)``; ``time.max`` ends the day."""

    index: int
    start: time
    end: time
    retry_delay_seconds: int

    @property
    def is_empty(self) -> bool:
        return self.start >= self.end


@dataclass(frozen=True)
class RetryPolicy:
    """A read ``call_retry_config``; days are Python weekday numbers (Monday is 0)."""

    allowed_days: frozenset[int]
    windows: tuple[CallingWindow, ...]
    max_retry_attempts: int
    call_twice_in_a_row: bool
    timezone: str | None


# What the public functions accept: the wire dict, a read policy, or None for the defaults.
RetryConfig: TypeAlias = Mapping[str, Any] | RetryPolicy | None


def read_retry_config(config: RetryConfig) -> RetryPolicy:
    """Read a wire-form retry config; absent keys (and ``None``) take the defaults."""
    if isinstance(config, RetryPolicy):
        return config
    given: Mapping[str, Any] = config or {}

    def field(name: str) -> Any:
        value = given.get(name)
        return DEFAULT_CALL_RETRY_CONFIG[name] if value is None else value

    try:
        days = frozenset(WEEKDAYS.index(day) for day in field("allowed_days"))
    except ValueError:
        raise InvalidRetryConfig(
            f"allowed_days {field('allowed_days')!r}: each day must be one of {list(WEEKDAYS)}"
        ) from None
    try:
        windows = tuple(
            CallingWindow(
                index=i,
                start=parse_window_time(w["calling_window_start_time"]),
                end=parse_window_time(w["calling_window_end_time"]),
                retry_delay_seconds=max(0, int(w["retry_delay_seconds"])),
            )
            for i, w in enumerate(field("calling_windows"))
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRetryConfig(f"calling_windows: {exc}") from None
    timezone = given.get("timezone")
    return RetryPolicy(
        allowed_days=days,
        windows=windows,
        max_retry_attempts=int(field("max_retry_attempts")),
        call_twice_in_a_row=bool(field("call_twice_in_a_row")),
        timezone=str(timezone) if timezone else None,
    )
