"""Text messages through Twilio's Programmable Messaging REST API.

``POST {twilio_api_base_url}/2010-04-01/Accounts/{sid}/Messages.json`` with the form
fields ``To``, ``From`` and ``Body`` and HTTP basic auth (account SID, auth token).
Twilio answers ``201`` with the message resource (its ``sid`` is the provider's message
id) or an error document ``{"code", "message", "more_info", "status"}``.
"""

from __future__ import annotations

from typing import Any

import httpx

from openrevox.providers.sms.base import SmsError
from openrevox.runtime.result import SentSms

API_VERSION = "2010-04-01"


class TwilioSmsError(SmsError):
    """Twilio refused or could not be reached; ``retryable`` says whether a later try may
    succeed (network errors, 429 and 5xx: yes; a refused number or credentials: no)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        twilio_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.twilio_code = twilio_code


class TwilioSmsProvider:
    """Sends each message through Twilio Messaging; raises ``TwilioSmsError``."""

    name = "twilio"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        api_base_url: str = "https://api.twilio.com",
        default_from: str | None = None,
    ) -> None:
        self._http = http
        self._account_sid = account_sid
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._url = f"{api_base_url.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Messages.json"
        self._default_from = default_from

    async def send(self, *, to: str | None, body: str, from_number: str | None) -> SentSms:
        if not to:
            raise TwilioSmsError("the message has no recipient number", retryable=False)
        if not body.strip():
            raise TwilioSmsError("the message is empty", retryable=False)
        sender = from_number or self._default_from
        if not sender:
            raise TwilioSmsError(
                "no sender number: set OPENREVOX_TWILIO_FROM_NUMBER or the assistant's "
                "from_phone_number",
                retryable=False,
            )
        try:
            response = await self._http.post(
                self._url, data={"To": to, "From": sender, "Body": body}, auth=self._auth
            )
        except httpx.HTTPError as exc:
            raise TwilioSmsError(
                f"Twilio Messaging could not be reached: {exc!r}", retryable=True
            ) from exc
        document = _json(response)
        if response.status_code >= 400:
            raise _error(response.status_code, document)
        sid = document.get("sid")
        return SentSms(
            to=to,
            body=body,
            provider=self.name,
            provider_message_id=str(sid) if sid else None,
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _error(status: int, document: dict[str, Any]) -> TwilioSmsError:
    code = document.get("code")
    twilio_code = code if isinstance(code, int) and not isinstance(code, bool) else None
    detail = str(document.get("message") or "no error message").strip()
    label = f"Twilio error {twilio_code}" if twilio_code is not None else "Twilio error"
    message = f"{label} (HTTP {status}): {detail}"
    if status == 401 or twilio_code == 20003:
        message += " — check OPENREVOX_TWILIO_ACCOUNT_SID and OPENREVOX_TWILIO_AUTH_TOKEN"
    retryable = status in (408, 429) or status >= 500
    return TwilioSmsError(message, retryable=retryable, status=status, twilio_code=twilio_code)
