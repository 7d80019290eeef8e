"""Values every wire form writes the same way: instants and the users who did something."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, overload


class UserFields(Protocol):
    """A user as a wire form names them (an ORM row or a unit of work's record)."""

    @property
    def id(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...


def member(user: UserFields | None) -> dict[str, Any] | None:
    """``created_by``, ``assignee``: who, or null."""
    if user is None:
        return None
    return {
        "id": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


@overload
def timestamp(value: datetime) -> str: ...
@overload
def timestamp(value: datetime | None) -> str | None: ...
def timestamp(value: datetime | None) -> str | None:
    """An instant in UTC, ``Z``-suffixed ISO 8601; null stays null."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")
