"""Twilio Messaging over real HTTP against the fake Twilio; the factory; the SMS log."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from pydantic import ValidationError
from revox.types.call_retrieve_response import CallCallAttemptSMSLog

from openrevox.config import Settings
from openrevox.providers.sms.factory import (
    SmsNotConfigured,
    send_sms,
    sms_log_entry,
    sms_provider_for,
)
from openrevox.providers.sms.local import LoggingSmsProvider
from openrevox.providers.sms.twilio import TwilioSmsError, TwilioSmsProvider
from openrevox.runtime.result import SentSms
from openrevox.schemas.call_parts import SmsLogEntry
from openrevox.testing.fake_twilio import FakeTwilio, RestError
from openrevox.testing.server import free_port

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-secret-token"
FROM = "+15005550006"
TO = "+14155550100"


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=SID, auth_token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def provider(
    twilio: FakeTwilio, http: httpx.AsyncClient, *, token: str = TOKEN
) -> TwilioSmsProvider:
    return TwilioSmsProvider(
        http,
        account_sid=SID,
        auth_token=token,
        api_base_url=twilio.base_url,
        default_from=FROM,
    )


async def test_sends_form_encoded_with_basic_auth(
    twilio: FakeTwilio, http: httpx.AsyncClient
) -> None:
    before = len(twilio.requests)
    sent = await provider(twilio, http).send(
        to=TO,
        body="Thanks for your time! Here is the link: https://x.test/a?b=1&c=2",
        from_number="+15005550001",
    )
    method, path, form = twilio.requests[before]
    assert (method, path) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json")
    assert form == {
        "To": [TO],
        "From": ["+15005550001"],
        "Body": ["Thanks for your time! Here is the link: https://x.test/a?b=1&c=2"],
    }
    message = twilio.messages[-1]
    assert sent == SentSms(
        to=TO, body=message.body, provider="twilio", provider_message_id=message.sid
    )
    assert message.sid.startswith("SM")


async def test_the_default_sender_is_used(twilio: FakeTwilio, http: httpx.AsyncClient) -> None:
    await provider(twilio, http).send(to=TO, body="Hi", from_number=None)
    assert twilio.messages[-1].from_ == FROM


async def test_basic_auth_header_is_the_sid_and_token(
    twilio: FakeTwilio, http: httpx.AsyncClient
) -> None:
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request.headers["authorization"])

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
        await provider(twilio, client).send(to=TO, body="Hi", from_number=None)
    assert seen == ["Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()]


async def test_a_refused_number_is_not_retryable(
    twilio: FakeTwilio, http: httpx.AsyncClient
) -> None:
    twilio.on_message("+15005550001", RestError(400, 21211, "The 'To' number is not valid."))
    with pytest.raises(TwilioSmsError) as caught:
        await provider(twilio, http).send(to="+15005550001", body="Hi", from_number=None)
    error = caught.value
    assert error.retryable is False
    assert (error.status, error.twilio_code) == (400, 21211)
    assert str(error) == "Twilio error 21211 (HTTP 400): The 'To' number is not valid."


async def test_server_errors_and_rate_limits_are_retryable(
    twilio: FakeTwilio, http: httpx.AsyncClient
) -> None:
    twilio.fail_messages(
        RestError(503, 20503, "Service unavailable"), RestError(429, 20429, "Too Many Requests")
    )
    for status in (503, 429):
        with pytest.raises(TwilioSmsError) as caught:
            await provider(twilio, http).send(to=TO, body="Hi", from_number=None)
        assert caught.value.retryable is True
        assert caught.value.status == status
    sent = await provider(twilio, http).send(to=TO, body="Third time", from_number=None)
    assert twilio.messages[-1].sid == sent.provider_message_id


async def test_wrong_credentials_name_the_settings(
    twilio: FakeTwilio, http: httpx.AsyncClient
) -> None:
    with pytest.raises(TwilioSmsError) as caught:
        await provider(twilio, http, token="wrong").send(to=TO, body="Hi", from_number=None)
    assert caught.value.retryable is False
    assert caught.value.twilio_code == 20003
    assert "OPENREVOX_TWILIO_AUTH_TOKEN" in str(caught.value)


async def test_unreachable_twilio_is_retryable(http: httpx.AsyncClient) -> None:
    dead = TwilioSmsProvider(
        http, account_sid=SID, auth_token=TOKEN, api_base_url=f"http://127.0.0.1:{free_port()}"
    )
    with pytest.raises(TwilioSmsError) as caught:
        await dead.send(to=TO, body="Hi", from_number=FROM)
    assert caught.value.retryable is True
    assert "could not be reached" in str(caught.value)


async def test_no_sender_no_recipient_or_empty_body_fail_before_sending(
    twilio: FakeTwilio, http: httpx.AsyncClient
) -> None:
    before = len(twilio.requests)
    bare = TwilioSmsProvider(http, account_sid=SID, auth_token=TOKEN, api_base_url=twilio.base_url)
    for kwargs in (
        {"to": TO, "body": "Hi", "from_number": None},
        {"to": None, "body": "Hi", "from_number": FROM},
        {"to": TO, "body": "  ", "from_number": FROM},
    ):
        with pytest.raises(TwilioSmsError) as caught:
            await bare.send(**kwargs)
        assert caught.value.retryable is False
    assert len(twilio.requests) == before


async def test_send_sms_reports_a_delivery_try(twilio: FakeTwilio, http: httpx.AsyncClient) -> None:
    ok = await send_sms(provider(twilio, http), to=TO, body="Hello", from_number=None)
    assert ok.ok and ok.retryable
    assert ok.details["provider_message_id"] == twilio.messages[-1].sid
    assert ok.details["provider"] == "twilio"
    twilio.fail_messages(RestError(500, 20500, "Internal"))
    failed = await send_sms(provider(twilio, http), to=TO, body="Hello", from_number=None)
    assert (failed.ok, failed.retryable, failed.status_code) == (False, True, 500)
    assert failed.error == "Twilio error 20500 (HTTP 500): Internal"
    empty = await send_sms(LoggingSmsProvider(), to=TO, body=" ", from_number=None)
    assert (empty.ok, empty.retryable) == (False, False)


async def test_factory_chooses_the_provider(twilio: FakeTwilio, http: httpx.AsyncClient) -> None:
    assert isinstance(sms_provider_for(Settings(), http), LoggingSmsProvider)
    chosen = sms_provider_for(
        Settings(
            sms_provider="twilio",
            twilio_account_sid=SID,
            twilio_auth_token=TOKEN,
            twilio_api_base_url=twilio.base_url,
            twilio_from_number=FROM,
        ),
        http,
    )
    assert isinstance(chosen, TwilioSmsProvider) and chosen.name == "twilio"
    sent = await chosen.send(to=TO, body="Via the factory", from_number=None)
    assert twilio.messages[-1].sid == sent.provider_message_id
    assert twilio.messages[-1].from_ == FROM


def test_settings_name_missing_twilio_settings() -> None:
    """Twilio SMS without its credentials is refused when the server starts."""
    with pytest.raises(
        ValidationError, match="OPENREVOX_TWILIO_ACCOUNT_SID and OPENREVOX_TWILIO_AUTH_TOKEN"
    ):
        Settings(sms_provider="twilio")
    with pytest.raises(ValidationError) as caught:
        Settings(sms_provider="twilio", twilio_account_sid=SID)
    assert "OPENREVOX_TWILIO_AUTH_TOKEN" in str(caught.value)
    assert "ACCOUNT_SID" not in str(caught.value)
    # Settings built without validation still get a clear error from the factory.
    unchecked = Settings.model_construct(sms_provider="twilio", twilio_auth_token=None)
    with pytest.raises(SmsNotConfigured, match="OPENREVOX_TWILIO_AUTH_TOKEN"):
        sms_provider_for(unchecked, httpx.AsyncClient())


@pytest.mark.parametrize("provider_name", ["twilio", "local"])
def test_sms_log_entry_has_the_sdk_shape(provider_name: str) -> None:
    sent = SentSms(to=TO, body="See you Tuesday", provider=provider_name, provider_message_id="x1")
    paris = timezone(timedelta(hours=1))
    entry = sms_log_entry(
        sent,
        type="after_call",
        sent_at=datetime(2026, 3, 1, 10, 0, 5, tzinfo=paris),
        log_id="sms_1",
    )
    assert entry == {
        "id": "sms_1",
        "created_at": "2026-03-01T09:00:05Z",
        "message_body": "See you Tuesday",
        "provider": "twilio",  # the local provider is recorded as twilio on the wire
        "provider_message_id": "x1",
        "to_phone_number": TO,
        "type": "after_call",
    }
    CallCallAttemptSMSLog.model_validate(entry)
    SmsLogEntry.model_validate(entry)


def test_sms_log_entry_naive_time_is_utc() -> None:
    sent = SentSms(to=None, body="b", provider="vonage")
    entry = sms_log_entry(sent, type="voicemail", sent_at=datetime(2026, 1, 2, 3, 4, 5), log_id="i")
    assert entry["created_at"] == "2026-01-02T03:04:05Z"
    assert entry["provider"] == "vonage"
    assert entry["to_phone_number"] == ""
    assert datetime.fromisoformat(entry["created_at"]) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
