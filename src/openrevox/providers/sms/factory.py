"""Choosing the SMS provider from the settings, sending as a delivery, and the SMS log.

The SDK's ``sms_log`` entries name the provider with a strict ``"twilio" | "vonage"``
literal. Messages of the local provider (which logs and sends nothing) are recorded as
``"twilio"``, the vendor the server would use, and recognised by their
``provider_message_id``, which starts with ``local-``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from openrevox.config import Settings
from openrevox.errors import OpenrevoxError
from openrevox.notifications.base import DeliveryTry
from openrevox.providers.sms.base import SmsError, SmsProvider
from openrevox.providers.sms.local import LoggingSmsProvider
from openrevox.providers.sms.twilio import TwilioSmsProvider
from openrevox.runtime.result import SentSms
from openrevox.storage.models import new_id

SmsLogType = Literal["in_call", "voicemail", "after_call"]
WIRE_PROVIDERS = frozenset({"twilio", "vonage"})


class SmsNotConfigured(OpenrevoxError):
    """The chosen SMS provider lacks a setting."""

    status_code = 500
    code = "sms_not_configured"


def sms_provider_for(settings: Settings, http: httpx.AsyncClient) -> SmsProvider:
    """``local`` → ``LoggingSmsProvider``; ``twilio`` → ``TwilioSmsProvider`` (needs the
    account SID and auth token; raises ``SmsNotConfigured`` naming the missing ones)."""
    if settings.sms_provider == "local":
        return LoggingSmsProvider()
    missing = [
        name
        for name, value in (
            ("OPENREVOX_TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("OPENREVOX_TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
        )
        if not value
    ]
    if missing or settings.twilio_account_sid is None or settings.twilio_auth_token is None:
        raise SmsNotConfigured(
            f"OPENREVOX_SMS_PROVIDER=twilio needs {' and '.join(missing)} to be set"
        )
    return TwilioSmsProvider(
        http,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        api_base_url=settings.twilio_api_base_url,
        default_from=settings.twilio_from_number,
    )


async def send_sms(
    provider: SmsProvider, *, to: str | None, body: str, from_number: str | None
) -> DeliveryTry:
    """Send one message as a delivery try; ``details`` has ``provider`` and
    ``provider_message_id`` on success. An ``SmsError`` without a ``retryable``
    attribute (the local provider's empty message) is not retried."""
    started = time.perf_counter()
    try:
        sent = await provider.send(to=to, body=body, from_number=from_number)
    except SmsError as exc:
        return DeliveryTry(
            ok=False,
            latency_ms=_ms(started),
            status_code=getattr(exc, "status", None),
            error=str(exc),
            retryable=bool(getattr(exc, "retryable", False)),
        )
    return DeliveryTry(
        ok=True,
        latency_ms=_ms(started),
        details={
            "provider": sent.provider,
            "provider_message_id": sent.provider_message_id,
            "to": sent.to,
            "body": sent.body,
        },
    )


def sms_log_entry(
    sent: SentSms, *, type: SmsLogType, sent_at: datetime, log_id: str
) -> dict[str, Any]:
    """One ``CallAttempt.sms_log`` entry (SDK ``CallCallAttemptSMSLog``) for ``sent``.

    A provider other than twilio/vonage (the local one) is recorded as ``"twilio"``."""
    provider = str(sent.provider) if sent.provider in WIRE_PROVIDERS else "twilio"
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    created_at = sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "id": log_id,
        "created_at": created_at,
        "message_body": sent.body,
        "provider": provider,
        "provider_message_id": sent.provider_message_id,
        "to_phone_number": sent.to or "",
        "type": type,
    }


def in_call_sms_log(sent: Sequence[SentSms], *, sent_at: datetime) -> list[dict[str, Any]]:
    """The ``sms_log`` entries of the messages the agent sent during a call."""
    return [
        sms_log_entry(message, type="in_call", sent_at=sent_at, log_id=new_id()) for message in sent
    ]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
