"""The call order and call attempt state machines, and the user actions on an order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from openrevox.domain.scheduling.errors import ForbiddenAction, InvalidTransition

# The SDK's ``Call.status`` and ``CallLastCallAttempt.status`` (call_retrieve_response.py).
OrderStatus = Literal[
    "initializing",
    "queued_for_calling",
    "calling",
    "post_processing",
    "not_launched",
    "scheduled",
    "paused",
    "completed",
    "cancelled",
    "errored",
]
AttemptStatus = Literal["queued", "ringing", "ongoing", "completed", "error"]
UserAction = Literal["cancel", "pause", "resume"]

ORDER_STATUSES: tuple[OrderStatus, ...] = get_args(OrderStatus)
ATTEMPT_STATUSES: tuple[AttemptStatus, ...] = get_args(AttemptStatus)
TERMINAL_ORDER_STATUSES: frozenset[OrderStatus] = frozenset({"completed", "cancelled", "errored"})
TERMINAL_ATTEMPT_STATUSES: frozenset[AttemptStatus] = frozenset({"completed", "error"})

# Every status change of an order, by the system or a user action. Writing the same
# status again (e.g. a scheduled order given a new time) is not a transition.
ORDER_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    # Being created: planned, waiting for a campaign launch, or refused.
    "initializing": frozenset(
        {"scheduled", "queued_for_calling", "not_launched", "paused", "cancelled", "errored"}
    ),
    # A campaign's call before the campaign launches it.
    "not_launched": frozenset({"scheduled", "queued_for_calling", "cancelled"}),
    # Waiting for its time; when due it waits for a concurrency slot, or dials.
    "scheduled": frozenset({"queued_for_calling", "calling", "paused", "cancelled", "errored"}),
    # Due, waiting for a concurrency slot; back to scheduled if its window closes meanwhile.
    "queued_for_calling": frozenset({"calling", "scheduled", "paused", "cancelled", "errored"}),
    # An attempt is live. Then: a retry (later or due now), after-call work, or the end.
    "calling": frozenset(
        {
            "scheduled",
            "queued_for_calling",
            "post_processing",
            "completed",
            "paused",
            "cancelled",
            "errored",
        }
    ),
    "post_processing": frozenset({"completed", "errored"}),
    # Resumed, cancelled, or ended by the attempt that was live when it was paused.
    "paused": frozenset(
        {
            "scheduled",
            "queued_for_calling",
            "calling",
            "post_processing",
            "completed",
            "cancelled",
            "errored",
        }
    ),
    "completed": frozenset(),
    "cancelled": frozenset(),
    "errored": frozenset(),
}

ATTEMPT_TRANSITIONS: Mapping[AttemptStatus, frozenset[AttemptStatus]] = {
    "queued": frozenset({"ringing", "ongoing", "completed", "error"}),
    "ringing": frozenset({"ongoing", "completed", "error"}),
    "ongoing": frozenset({"completed", "error"}),
    "completed": frozenset(),
    "error": frozenset(),
}

# The states each user action is allowed from, in the order error messages list them.
ACTION_SOURCES: Mapping[UserAction, tuple[OrderStatus, ...]] = {
    "cancel": (
        "initializing",
        "not_launched",
        "scheduled",
        "queued_for_calling",
        "calling",
        "paused",
    ),
    "pause": ("initializing", "scheduled", "queued_for_calling", "calling"),
    "resume": ("paused",),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether an order may go from ``current`` to ``target``."""
    return target in ORDER_TRANSITIONS[current]


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Raise ``InvalidTransition`` unless an order may go from ``current`` to ``target``."""
    if not can_transition(current, target):
        raise InvalidTransition("call", current, target)


def can_attempt_transition(current: AttemptStatus, target: AttemptStatus) -> bool:
    """Whether an attempt may go from ``current`` to ``target``."""
    return target in ATTEMPT_TRANSITIONS[current]


def check_attempt_transition(current: AttemptStatus, target: AttemptStatus) -> None:
    """Raise ``InvalidTransition`` unless an attempt may go from ``current`` to ``target``."""
    if not can_attempt_transition(current, target):
        raise InvalidTransition("call attempt", current, target)


def allowed_actions(status: OrderStatus) -> frozenset[UserAction]:
    """The user actions an order in ``status`` accepts."""
    return frozenset(a for a, sources in ACTION_SOURCES.items() if status in sources)


def apply_action(
    action: UserAction, status: OrderStatus, *, attempt_in_progress: bool = False
) -> OrderStatus:
    """The status after a user action, or ``ForbiddenAction`` (a 409) naming the state.

    cancel: no attempt starts any more (a live one is hung up by the dispatcher).
    pause: a live attempt finishes; no new one starts until resume.
    resume: back to ``scheduled`` (the dispatcher re-plans the next attempt), or to
    ``calling`` when the attempt that was live at the pause is still going.
    """
    sources = ACTION_SOURCES[action]
    if status not in sources:
        raise ForbiddenAction(action, status, sources)
    if action == "cancel":
        return "cancelled"
    if action == "pause":
        return "paused"
    return "calling" if attempt_in_progress else "scheduled"
