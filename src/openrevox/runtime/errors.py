"""Errors of the call runtime; each ends a call (or refuses to start one) with its message."""

from __future__ import annotations

from collections.abc import Iterable

from openrevox.errors import FieldError, InvalidInput, OpenrevoxError


class MissingPromptVariables(InvalidInput):
    """The assistant's texts name ``{{variables}}`` the call did not give; nothing dials."""

    code = "missing_prompt_variables"

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        listed = ", ".join(self.names)
        message = f"prompt_variables: missing {listed} (the assistant's texts use them)"
        super().__init__(
            message,
            fields=[FieldError(f"prompt_variables.{n}", "is required") for n in self.names],
        )


class CallRuntimeError(OpenrevoxError):
    """A call could not go on; the session ends with ``end_reason`` error and this message."""

    status_code = 500
    code = "call_runtime_error"
