"""The order and attempt state machines, and cancel / pause / resume."""

from __future__ import annotations

from itertools import product
from typing import get_args

import pytest
from revox.types.call_retrieve_response import Call, CallLastCallAttempt

from openrevox.domain.scheduling import (
    ForbiddenAction,
    InvalidTransition,
    allowed_actions,
    apply_action,
    can_attempt_transition,
    can_transition,
    check_attempt_transition,
    check_transition,
)
from openrevox.domain.scheduling.states import (
    ACTION_SOURCES,
    ATTEMPT_STATUSES,
    ATTEMPT_TRANSITIONS,
    ORDER_STATUSES,
    ORDER_TRANSITIONS,
    TERMINAL_ATTEMPT_STATUSES,
    TERMINAL_ORDER_STATUSES,
    AttemptStatus,
    OrderStatus,
    UserAction,
)


def test_statuses_are_the_sdks() -> None:
    assert get_args(Call.model_fields["status"].annotation) == ORDER_STATUSES
    assert get_args(CallLastCallAttempt.model_fields["status"].annotation) == ATTEMPT_STATUSES
    assert set(ORDER_TRANSITIONS) == set(ORDER_STATUSES)
    assert set(ATTEMPT_TRANSITIONS) == set(ATTEMPT_STATUSES)


def test_terminal_states_go_nowhere_and_others_can_end() -> None:
    for status in ORDER_STATUSES:
        assert (not ORDER_TRANSITIONS[status]) is (status in TERMINAL_ORDER_STATUSES)
    for attempt_status in ATTEMPT_STATUSES:
        assert (not ATTEMPT_TRANSITIONS[attempt_status]) is (
            attempt_status in TERMINAL_ATTEMPT_STATUSES
        )


def test_every_state_is_reachable_from_initializing() -> None:
    seen: set[OrderStatus] = {"initializing"}
    frontier: list[OrderStatus] = ["initializing"]
    while frontier:
        for target in ORDER_TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(ORDER_STATUSES)


EXPECTED_ORDER_EDGES = {
    ("initializing", "scheduled"),
    ("initializing", "queued_for_calling"),
    ("initializing", "not_launched"),
    ("initializing", "paused"),
    ("initializing", "cancelled"),
    ("initializing", "errored"),
    ("not_launched", "scheduled"),
    ("not_launched", "queued_for_calling"),
    ("not_launched", "cancelled"),
    ("scheduled", "queued_for_calling"),
    ("scheduled", "calling"),
    ("scheduled", "paused"),
    ("scheduled", "cancelled"),
    ("scheduled", "errored"),
    ("queued_for_calling", "calling"),
    ("queued_for_calling", "scheduled"),
    ("queued_for_calling", "paused"),
    ("queued_for_calling", "cancelled"),
    ("queued_for_calling", "errored"),
    ("calling", "scheduled"),
    ("calling", "queued_for_calling"),
    ("calling", "post_processing"),
    ("calling", "completed"),
    ("calling", "paused"),
    ("calling", "cancelled"),
    ("calling", "errored"),
    ("post_processing", "completed"),
    ("post_processing", "errored"),
    ("paused", "scheduled"),
    ("paused", "queued_for_calling"),
    ("paused", "calling"),
    ("paused", "post_processing"),
    ("paused", "completed"),
    ("paused", "cancelled"),
    ("paused", "errored"),
}


@pytest.mark.parametrize(("current", "target"), list(product(ORDER_STATUSES, repeat=2)))
def test_order_transitions(current: OrderStatus, target: OrderStatus) -> None:
    allowed = (current, target) in EXPECTED_ORDER_EDGES
    assert can_transition(current, target) is allowed
    if allowed:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition, match=f"from {current} to {target}"):
            check_transition(current, target)


EXPECTED_ATTEMPT_EDGES = {
    ("queued", "ringing"),
    ("queued", "ongoing"),
    ("queued", "completed"),
    ("queued", "error"),
    ("ringing", "ongoing"),
    ("ringing", "completed"),
    ("ringing", "error"),
    ("ongoing", "completed"),
    ("ongoing", "error"),
}


@pytest.mark.parametrize(("current", "target"), list(product(ATTEMPT_STATUSES, repeat=2)))
def test_attempt_transitions(current: AttemptStatus, target: AttemptStatus) -> None:
    allowed = (current, target) in EXPECTED_ATTEMPT_EDGES
    assert can_attempt_transition(current, target) is allowed
    if allowed:
        check_attempt_transition(current, target)
    else:
        with pytest.raises(InvalidTransition, match="call attempt cannot go"):
            check_attempt_transition(current, target)


ALLOWED_ACTIONS: dict[tuple[UserAction, OrderStatus], OrderStatus] = {
    ("cancel", "initializing"): "cancelled",
    ("cancel", "not_launched"): "cancelled",
    ("cancel", "scheduled"): "cancelled",
    ("cancel", "queued_for_calling"): "cancelled",
    ("cancel", "calling"): "cancelled",
    ("cancel", "paused"): "cancelled",
    ("pause", "initializing"): "paused",
    ("pause", "scheduled"): "paused",
    ("pause", "queued_for_calling"): "paused",
    ("pause", "calling"): "paused",
    ("resume", "paused"): "scheduled",
}
ACTIONS: tuple[UserAction, ...] = get_args(UserAction)


@pytest.mark.parametrize(("action", "status"), list(product(ACTIONS, ORDER_STATUSES)))
def test_user_actions(action: UserAction, status: OrderStatus) -> None:
    expected = ALLOWED_ACTIONS.get((action, status))
    if expected is not None:
        assert apply_action(action, status) == expected
        assert action in allowed_actions(status)
        assert can_transition(status, expected)
        return
    assert action not in allowed_actions(status)
    with pytest.raises(ForbiddenAction) as caught:
        apply_action(action, status)
    assert (caught.value.action, caught.value.state) == (action, status)
    assert f"cannot {action} a call that is {status}; only " in str(caught.value)


def test_forbidden_action_messages() -> None:
    with pytest.raises(ForbiddenAction) as caught:
        apply_action("resume", "completed")
    assert str(caught.value) == (
        "cannot resume a call that is completed; only paused calls can be resumed"
    )
    assert caught.value.allowed_from == ("paused",)
    with pytest.raises(ForbiddenAction) as caught:
        apply_action("cancel", "cancelled")
    assert str(caught.value) == (
        "cannot cancel a call that is cancelled; only initializing, not_launched, scheduled, "
        "queued_for_calling, calling or paused calls can be cancelled"
    )
    with pytest.raises(
        ForbiddenAction,
        match="only initializing, scheduled, queued_for_calling or calling calls can be paused",
    ):
        apply_action("pause", "paused")


def test_resume_while_the_paused_attempt_is_still_live_goes_back_to_calling() -> None:
    assert apply_action("resume", "paused", attempt_in_progress=True) == "calling"
    assert apply_action("pause", "calling", attempt_in_progress=True) == "paused"


def test_terminal_orders_accept_no_action() -> None:
    ended: set[OrderStatus] = {*TERMINAL_ORDER_STATUSES, "post_processing"}
    for status in ended:
        assert allowed_actions(status) == frozenset()


def test_action_sources_lead_to_real_transitions() -> None:
    targets: dict[UserAction, list[OrderStatus]] = {
        "cancel": ["cancelled"],
        "pause": ["paused"],
        "resume": ["scheduled", "calling"],
    }
    for action, sources in ACTION_SOURCES.items():
        for source in sources:
            for target in targets[action]:
                assert can_transition(source, target), (action, source, target)
