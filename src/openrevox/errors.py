"""One root exception for the platform; each carries its HTTP status and machine code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One offending input field: its dotted path and what is wrong with it."""

    path: str
    message: str


class OpenrevoxError(Exception):
    """Root of every error the platform raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []


class InvalidInput(OpenrevoxError):
    """The request is well-formed JSON but breaks a rule; nothing was written."""

    status_code = 400
    code = "invalid_request"

    @classmethod
    def at(cls, path: str, message: str) -> InvalidInput:
        """An error about a single field."""
        return cls(f"{path}: {message}", fields=[FieldError(path, message)])


class Unauthenticated(OpenrevoxError):
    status_code = 401
    code = "unauthenticated"


class NotFound(OpenrevoxError):
    status_code = 404
    code = "not_found"


class Conflict(OpenrevoxError):
    """The action is not allowed in the resource's current state."""

    status_code = 409
    code = "conflict"
