"""Vocabularies shared by assistants, calls and notifications."""

from __future__ import annotations

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
