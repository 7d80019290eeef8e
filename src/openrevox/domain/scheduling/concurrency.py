"""Admission: may one more call start, given the active calls and the limits?"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

LimitScope = Literal["organization", "concurrency_key", "campaign"]


@dataclass(frozen=True)
class Usage:
    """Active calls in one scope and its limit (``None``: unlimited)."""

    active: int = 0
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.active < 0 or (self.limit is not None and self.limit < 0):
            raise ValueError(f"active calls and limits are never negative: {self}")

    @property
    def free(self) -> int | None:
        """Calls that may still start here (``None``: unlimited)."""
        return None if self.limit is None else max(0, self.limit - self.active)


@dataclass(frozen=True)
class Admission:
    """Whether a call may start; if not, every scope whose limit is reached, outermost first."""

    blocked_by: tuple[LimitScope, ...] = ()
    usages: Mapping[LimitScope, Usage] = field(default_factory=dict)

    @property
    def admitted(self) -> bool:
        return not self.blocked_by

    @property
    def reason(self) -> str | None:
        """Why the call waits in ``queued_for_calling``, for people."""
        if self.admitted:
            return None
        parts = []
        for scope in self.blocked_by:
            usage = self.usages[scope]
            parts.append(
                f"{_LABELS[scope]} limit reached ({usage.active} of {usage.limit} calls active)"
            )
        return "; ".join(parts)


@dataclass(frozen=True)
class Candidate:
    """A due call: its organization and, if any, its concurrency key and campaign."""

    organization_id: str
    concurrency_key: str | None = None
    campaign_id: str | None = None


_LABELS: Mapping[LimitScope, str] = {
    "organization": "organization",
    "concurrency_key": "concurrency key",
    "campaign": "campaign",
}


def admit(
    organization: Usage,
    concurrency_key: Usage | None = None,
    campaign: Usage | None = None,
) -> Admission:
    """Whether one more call may start under every given limit."""
    usages: dict[LimitScope, Usage] = {"organization": organization}
    if concurrency_key is not None:
        usages["concurrency_key"] = concurrency_key
    if campaign is not None:
        usages["campaign"] = campaign
    blocked = tuple(scope for scope, usage in usages.items() if usage.free == 0)
    return Admission(blocked_by=blocked, usages=usages)


def free_slots(*usages: Usage) -> int | None:
    """How many more calls may start under all these limits (``None``: unlimited)."""
    frees = [u.free for u in usages if u.free is not None]
    return min(frees) if frees else None


def plan_admissions(
    candidates: Iterable[Candidate],
    organizations: Mapping[str, Usage],
    concurrency_keys: Mapping[tuple[str, str], Usage],
    campaigns: Mapping[str, Usage],
) -> list[Admission]:
    """Admit due calls in order, each admitted one counting against the next ones.

    Concurrency keys belong to an organization: ``concurrency_keys`` is keyed by
    ``(organization_id, key)``. An id absent from a mapping has no active call, no limit.
    """
    active: dict[tuple[LimitScope, object], Usage] = {}

    def usage(scope: LimitScope, key: object, given: Mapping[Any, Usage]) -> Usage:
        return active.setdefault((scope, key), given.get(key, Usage()))

    out: list[Admission] = []
    for c in candidates:
        scopes: list[tuple[LimitScope, object]] = [("organization", c.organization_id)]
        org = usage("organization", c.organization_id, organizations)
        key = camp = None
        if c.concurrency_key is not None:
            scoped_key = (c.organization_id, c.concurrency_key)
            key = usage("concurrency_key", scoped_key, concurrency_keys)
            scopes.append(("concurrency_key", scoped_key))
        if c.campaign_id is not None:
            camp = usage("campaign", c.campaign_id, campaigns)
            scopes.append(("campaign", c.campaign_id))
        admission = admit(org, key, camp)
        if admission.admitted:
            for scope in scopes:
                current = active[scope]
                active[scope] = Usage(current.active + 1, current.limit)
        out.append(admission)
    return out
