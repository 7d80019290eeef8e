"""Errors through the SDK: 400 with the error shape, 401, 404, and organization isolation."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from revox import AsyncRevox, AuthenticationError, BadRequestError, NotFoundError, Revox

from openrevox.testing.server import create_key
from tests.conformance.bodies import PHONE
from tests.conformance.conftest import Deployment

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def error_of(exc: Any) -> dict[str, Any]:
    """The ``error`` object of an API error, checked against the documented shape."""
    assert isinstance(exc.body, dict), f"error body is not a JSON object: {exc.body!r}"
    assert set(exc.body) == {"error"}, exc.body
    error: dict[str, Any] = exc.body["error"]
    assert isinstance(error.get("code"), str) and error["code"]
    assert isinstance(error.get("message"), str) and error["message"]
    assert isinstance(error.get("fields"), list)
    for field in error["fields"]:
        assert set(field) == {"path", "message"}, field
        assert isinstance(field["path"], str) and isinstance(field["message"], str)
    return error


def window(start: str, end: str) -> dict[str, Any]:
    return {
        "allowed_days": ["monday"],
        "call_twice_in_a_row": False,
        "calling_windows": [
            {
                "calling_window_start_time": start,
                "calling_window_end_time": end,
                "retry_delay_seconds": 60,
            }
        ],
        "max_retry_attempts": 2,
    }


BAD_CREATES = [
    pytest.param({"voice": {"id": "v", "provider": "cartesia", "speed": 3.0}}, "voice.speed",
                 id="voice-speed-out-of-range"),
    pytest.param({"first_sentence_delay_ms": -1}, "first_sentence_delay_ms",
                 id="negative-delay"),
    pytest.param({"max_call_duration_secs": 0}, "max_call_duration_secs", id="zero-duration"),
    pytest.param({"transfer_destinations": [{"label": "Sales", "phone_number": "12"}]},
                 "transfer_destinations[0].phone_number", id="not-e164"),
    pytest.param({"from_phone_number": "not a number"}, "from_phone_number",
                 id="bad-from-number"),
    pytest.param({"email_notification_address": "nobody"}, "email_notification_address",
                 id="bad-email"),
    pytest.param({"webhook_url": "ftp://example.com/hook"}, "webhook_url", id="non-http-url"),
    pytest.param({"call_retry_config": {**window("09:00", "17:00"), "timezone": "Mars/Base"}},
                 "call_retry_config.timezone", id="unknown-timezone"),
    pytest.param({"call_retry_config": window("25:00", "26:00")},
                 "call_retry_config.calling_windows[0].calling_window_start_time",
                 id="bad-window-time"),
    pytest.param({"thinking_sound_volume": 1.5}, "thinking_sound_volume", id="volume-above-1"),
    pytest.param({"first_sentence_mode": "static"}, "first_sentence",
                 id="static-without-sentence"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "path"), BAD_CREATES)
def test_bad_create_is_400_naming_the_field(
    client: Revox, fields: dict[str, Any], path: str
) -> None:
    before = {a.id for a in client.assistants.list().assistants}
    with pytest.raises(BadRequestError) as caught:
        client.assistants.create(name="Bad", prompt="p", **fields)
    assert caught.value.status_code == 400
    error = error_of(caught.value)
    assert path in [f["path"] for f in error["fields"]], error
    assert {a.id for a in client.assistants.list().assistants} == before  # nothing written


def test_bad_custom_tool_name_is_400(client: Revox) -> None:
    tool = {
        "body_template": None,
        "description": "Look up an order",
        "headers": [],
        "input_schema": [],
        "method": "GET",
        "name": "LookUpOrder",
        "query_params": [],
        "url": "https://example.com/orders",
    }
    with pytest.raises(BadRequestError) as caught:
        client.assistants.create(name="Bad", prompt="p", custom_tools=[tool])
    assert "custom_tools[0].name" in [f["path"] for f in error_of(caught.value)["fields"]]


def test_bad_update_is_400_and_changes_nothing(client: Revox) -> None:
    created = client.assistants.create(name="Keep", prompt="p", from_phone_number=PHONE).assistant
    with pytest.raises(BadRequestError) as caught:
        client.assistants.update(created.id, name=None, prompt="changed")  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert "name" in [f["path"] for f in error_of(caught.value)["fields"]]
    assert client.assistants.retrieve(created.id).to_dict() == created.to_dict()


def test_unknown_field_is_400(client: Revox) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.assistants.create(name="Typo", prompt="p", extra_body={"promt": "x"})
    assert "promt" in [f["path"] for f in error_of(caught.value)["fields"]]


def test_unknown_id_is_404(client: Revox) -> None:
    calls = [
        lambda: client.assistants.retrieve(UNKNOWN_ID),
        lambda: client.assistants.update(UNKNOWN_ID, name="x"),
        lambda: client.assistants.delete(UNKNOWN_ID),
        lambda: client.assistants.clone(UNKNOWN_ID),
        lambda: client.assistants.retrieve("not-even-a-uuid"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as caught:
            call()
        assert caught.value.status_code == 404
        error_of(caught.value)


@pytest.mark.parametrize("key", ["orx_not_a_real_key", "garbage"])
def test_bad_key_is_401(deployment: Deployment, key: str) -> None:
    with Revox(api_key=key, base_url=deployment.base_url, _strict_response_validation=True) as bad:
        for call in (bad.auth_status.retrieve, bad.users.retrieve, bad.assistants.list):
            with pytest.raises(AuthenticationError) as caught:
                call()
            assert caught.value.status_code == 401
            error_of(caught.value)


async def test_bad_key_is_401_async(deployment: Deployment) -> None:
    async with AsyncRevox(
        api_key="orx_not_a_real_key", base_url=deployment.base_url, _strict_response_validation=True
    ) as bad:
        with pytest.raises(AuthenticationError):
            await bad.assistants.create(name="x", prompt="p")


def test_revoked_key_is_401(deployment: Deployment) -> None:
    key = create_key(deployment.database_url, "umbrella", "owner@umbrella.test")
    with Revox(api_key=key, base_url=deployment.base_url, max_retries=0) as sdk:
        assert sdk.auth_status.retrieve().authenticated is True
        subprocess.run(
            [sys.executable, "-m", "openrevox", "keys", "revoke", key[:12]],
            env={**os.environ, "OPENREVOX_DATABASE_URL": deployment.database_url},
            capture_output=True,
            check=True,
            timeout=60,
        )
        with pytest.raises(AuthenticationError):
            sdk.auth_status.retrieve()


def test_another_organizations_assistant_is_not_found(client: Revox, other_client: Revox) -> None:
    theirs = other_client.assistants.create(name="Globex only", prompt="p").assistant
    calls = [
        lambda: client.assistants.retrieve(theirs.id),
        lambda: client.assistants.update(theirs.id, name="Hijacked"),
        lambda: client.assistants.clone(theirs.id),
        lambda: client.assistants.delete(theirs.id),
    ]
    for call in calls:
        with pytest.raises(NotFoundError):
            call()
    assert theirs.id not in {a.id for a in client.assistants.list().assistants}
    assert other_client.assistants.retrieve(theirs.id).to_dict() == theirs.to_dict()
