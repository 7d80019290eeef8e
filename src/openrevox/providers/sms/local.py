"""A local SMS provider: logs each message and keeps it in ``sent`` (nothing leaves)."""

from __future__ import annotations

import itertools
import logging

from openrevox.providers.sms.base import SmsError
from openrevox.runtime.result import SentSms

log = logging.getLogger(__name__)


class LoggingSmsProvider:
    """Records messages instead of sending them; for self-hosting without SMS and tests."""

    name = "local"

    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self._ids = itertools.count(1)

    async def send(self, *, to: str | None, body: str, from_number: str | None) -> SentSms:
        if not body.strip():
            raise SmsError("the message is empty")
        message = SentSms(
            to=to, body=body, provider=self.name, provider_message_id=f"local-{next(self._ids)}"
        )
        self.sent.append(message)
        log.info("SMS to %s from %s: %s", to or "(unknown)", from_number or "(default)", body)
        return message
