"""Errors of the scheduling rules: plain exceptions, mapped to HTTP by the API layer."""

from __future__ import annotations

from collections.abc import Iterable


class SchedulingError(Exception):
    """Root of the scheduling rules' errors."""


class ForbiddenAction(SchedulingError):
    """A user action (cancel, pause, resume) that the call's current state forbids (409)."""

    def __init__(self, action: str, state: str, allowed_from: Iterable[str]) -> None:
        self.action = action
        self.state = state
        self.allowed_from = tuple(allowed_from)
        states = _or_list(self.allowed_from)
        past = {"cancel": "cancelled", "pause": "paused", "resume": "resumed"}.get(action, action)
        super().__init__(
            f"cannot {action} a call that is {state}; only {states} calls can be {past}"
        )


class InvalidTransition(SchedulingError):
    """A status change the state machine does not have (a bug or a lost race)."""

    def __init__(self, kind: str, current: str, target: str) -> None:
        self.kind = kind
        self.current = current
        self.target = target
        super().__init__(f"a {kind} cannot go from {current} to {target}")


class NoCallingTime(SchedulingError):
    """The retry configuration allows no instant within the look-ahead horizon."""


class InvalidRetryConfig(SchedulingError, ValueError):
    """A retry configuration that cannot be read (unknown day, bad time, unknown zone)."""


def _or_list(items: tuple[str, ...]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"
