"""What an order becomes when its attempt ends: the retry policy applied to the row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openrevox.domain.scheduling import (
    AttemptOutcome,
    InvalidRetryConfig,
    NoCallingTime,
    next_attempt,
    recipient_zones,
)
from openrevox.domain.scheduling.retry import AttemptResult, DialError
from openrevox.storage.repositories.dispatch import HeldOrder


def conclude(
    order: HeldOrder,
    *,
    result: AttemptResult | None,
    dial_error: DialError | None,
    attempt_started_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """The order's new column values once its attempt ended; the lease is released.

    - retry: ``scheduled`` at the policy's ``next_attempt_at`` (a paused order stays
      paused and keeps the planned time for its resume);
    - a human reached: ``completed`` (the dispatcher makes it ``post_processing`` and
      enqueues the after-call work, which completes it: ``postcall/flow.py``);
    - attempts exhausted or a permanent dial error: ``completed`` as well, with a
      ``status_reason`` saying why (the SDK has no failed status for an order whose
      calls were made; ``errored`` is for orders that could not be carried out, and the
      order's ``result`` tells what the last attempt met);
    - no calling time left in the config: ``errored``.
    A cancelled order stays cancelled; an order whose campaign was cancelled is not
    retried (``cancelled``).
    """
    values: dict[str, Any] = {"claimed_by": None, "lease_expires_at": None, "updated_at": now}
    if result is not None:
        values["result"] = result
    if order.status == "cancelled":
        return {**values, "next_attempt_at": None}
    config = order.retry_config
    try:
        zones = recipient_zones(order.to_phone_number, config)
        decision = next_attempt(
            now,
            max(1, order.calls_count),
            AttemptOutcome(result=result, dial_error=dial_error),
            attempt_started_at,
            config,
            zones,
            skip_calling_window=order.skip_calling_window,
        )
    except (NoCallingTime, InvalidRetryConfig) as exc:
        return {
            **values,
            "status": "errored",
            "status_reason": f"no retry possible: {exc}",
            "next_attempt_at": None,
        }
    if decision.retry_at is not None and order.campaign_cancelled:
        # The campaign was cancelled while this attempt was live: it finished, no more.
        return {
            **values,
            "status": "cancelled",
            "status_reason": "campaign cancelled",
            "next_attempt_at": None,
        }
    if decision.retry_at is not None:
        values["next_attempt_at"] = decision.retry_at
        if order.status != "paused":
            values.update(status="scheduled", status_reason=None)
        return values
    reason = {
        "human_reached": None,
        "attempts_exhausted": "every attempt was made without reaching a human",
        "non_retryable": f"not retried: {dial_error}",
    }[decision.finished or "human_reached"]
    return {**values, "status": "completed", "status_reason": reason, "next_attempt_at": None}
