"""What every notification channel reports: one try, and whether trying again may help."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openrevox.errors import OpenrevoxError


@dataclass(frozen=True)
class DeliveryTry:
    """One try of one delivery, as the job runner logs it (``job_tries``).

    ``retryable`` is False when trying again cannot help (a 4xx other than 408/429,
    a channel not configured): the job gives up at once. ``details`` go to the job's
    ``result`` (message ids, the CRM record id, ...).
    """

    ok: bool
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    retryable: bool = True
    details: dict[str, Any] = field(default_factory=dict)


class DeliveryError(OpenrevoxError):
    """A channel could not deliver; ``retryable`` says whether a later try may succeed."""

    code = "delivery_failed"

    def __init__(self, message: str, *, retryable: bool = True, answered: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.answered = answered  # the HTTP status the remote end answered, if any
