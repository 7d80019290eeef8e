"""Pure scheduling rules of call orders: zones, windows, retries, states, admission.

No I/O and no clock: every time-dependent function takes ``now`` (docs/scheduling.md).
"""

from openrevox.domain.scheduling.concurrency import (
    Admission,
    Candidate,
    LimitScope,
    Usage,
    admit,
    free_slots,
    plan_admissions,
)
from openrevox.domain.scheduling.errors import (
    ForbiddenAction,
    InvalidRetryConfig,
    InvalidTransition,
    NoCallingTime,
    SchedulingError,
)
from openrevox.domain.scheduling.policy import (
    CallingWindow,
    RetryConfig,
    RetryPolicy,
    read_retry_config,
)
from openrevox.domain.scheduling.retry import (
    AttemptOutcome,
    AttemptResult,
    DialError,
    FinishReason,
    RetryDecision,
    first_attempt_at,
    next_attempt,
    retry_delay_seconds,
)
from openrevox.domain.scheduling.states import (
    AttemptStatus,
    OrderStatus,
    UserAction,
    allowed_actions,
    apply_action,
    can_attempt_transition,
    can_transition,
    check_attempt_transition,
    check_transition,
)
from openrevox.domain.scheduling.timezones import (
    recipient_zones,
    zone_names_for_number,
    zones_for_number,
)
from openrevox.domain.scheduling.windows import (
    effective_zones,
    is_allowed,
    next_allowed_instant,
    window_at,
)

__all__ = [
    "Admission",
    "AttemptOutcome",
    "AttemptResult",
    "AttemptStatus",
    "CallingWindow",
    "Candidate",
    "DialError",
    "FinishReason",
    "ForbiddenAction",
    "InvalidRetryConfig",
    "InvalidTransition",
    "LimitScope",
    "NoCallingTime",
    "OrderStatus",
    "RetryConfig",
    "RetryDecision",
    "RetryPolicy",
    "SchedulingError",
    "Usage",
    "UserAction",
    "admit",
    "allowed_actions",
    "apply_action",
    "can_attempt_transition",
    "can_transition",
    "check_attempt_transition",
    "check_transition",
    "effective_zones",
    "first_attempt_at",
    "free_slots",
    "is_allowed",
    "next_allowed_instant",
    "next_attempt",
    "plan_admissions",
    "read_retry_config",
    "recipient_zones",
    "retry_delay_seconds",
    "window_at",
    "zone_names_for_number",
    "zones_for_number",
]
