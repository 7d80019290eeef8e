"""The dispatcher's queries: claim due orders under a lease, renew, finish, recover.

Every function runs inside the caller's write transaction (``db.write()``), on its
connection with Core statements (the dispatcher's hot path: no ORM unit of work). On
PostgreSQL due rows are read with ``FOR UPDATE SKIP LOCKED`` and the admission of an
organization's calls is serialised by a transaction-level advisory lock on it; on
SQLite the write transaction itself (``BEGIN IMMEDIATE``) serialises claims. Claims are
conditional updates either way, so a row claimed meanwhile is never claimed twice.

The queries live by concern: ``dispatch_claims`` (admission and the claim),
``dispatch_leases`` (the held order: renewal, attempt writes, recovery) and
``dispatch_ends`` (the one-statement end of an attempt); this module re-exports them.
"""

from __future__ import annotations

from openrevox.storage.repositories.dispatch_claims import (
    active_counts,
    campaign_usage,
    claim,
    clear_key_limit,
    due_calls,
    key_limits,
    lock_organizations,
    mark_waiting,
    saturated_campaigns,
    set_key_limit,
)
from openrevox.storage.repositories.dispatch_ends import (
    finish_unchanged,
)
from openrevox.storage.repositories.dispatch_leases import (
    DUE_STATUSES,
    LIVE_ATTEMPT_STATUSES,
    RETRY_CONFIG,
    ClaimedCall,
    DueCall,
    HeldOrder,
    attempts,
    calls,
    end_attempt,
    end_live_attempts,
    expired_orders,
    held_order,
    renew,
    update_attempt,
    update_order,
)

__all__ = [
    "DUE_STATUSES",
    "LIVE_ATTEMPT_STATUSES",
    "RETRY_CONFIG",
    "ClaimedCall",
    "DueCall",
    "HeldOrder",
    "active_counts",
    "attempts",
    "calls",
    "campaign_usage",
    "claim",
    "clear_key_limit",
    "due_calls",
    "end_attempt",
    "end_live_attempts",
    "expired_orders",
    "finish_unchanged",
    "held_order",
    "key_limits",
    "lock_organizations",
    "mark_waiting",
    "renew",
    "saturated_campaigns",
    "set_key_limit",
    "update_attempt",
    "update_order",
]
