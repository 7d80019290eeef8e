"""Vocabularies shared by assistants, calls and notifications."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Outcome = Literal["not_interested", "interested", "completed", "requested_callback_later"]
# An outcome filter; "none" matches a call whose outcome is null.
OutcomeFilter = Literal[
    "not_interested", "interested", "completed", "requested_callback_later", "none"
]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


def outcome_matches(filters: Iterable[str] | None, outcome: str | None) -> bool:
    """Whether a notification filter selects ``outcome`` ("none" selects a null one).

    An empty or missing filter selects nothing.
    """
    wanted = set(filters or ())
    return (outcome if outcome is not None else "none") in wanted
