"""The SMS provider interface."""

from __future__ import annotations

from typing import Protocol

from openrevox.errors import OpenrevoxError
from openrevox.runtime.result import SentSms


class SmsError(OpenrevoxError):
    """The provider could not send the message."""

    status_code = 502
    code = "sms_error"


class SmsProvider(Protocol):
    """Sends one text message; raises ``SmsError`` on failure."""

    name: str

    async def send(self, *, to: str | None, body: str, from_number: str | None) -> SentSms: ...
