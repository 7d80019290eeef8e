"""Inbound calls through Twilio, against the served app: the signed voice webhook routes
an owned number to its assistant (precall lookup on a loopback server first) and answers
``<Connect><Stream>``; a caller on the media stream hears the greeting, talks, hangs up;
the order ends in ``post_processing``. Bad signatures are 403s; unrouted numbers are
rejected with TwiML, never an error."""

from __future__ import annotations

import asyncio
import contextlib
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from openrevox.providers.telephony.twilio_protocol import request_signature
from openrevox.storage.models import Call, CallAttempt
from tests.audio.twilio_peer import FakeTwilioCall, caller_speech
from tests.integration.test_inbound_simulated import Lookup

from .conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUR_NUMBER = "+14155550142"
CALLER = "+12125550199"


@pytest.fixture
def lookup() -> Iterator[Lookup]:
    server = Lookup()
    try:
        yield server
    finally:
        server.close()


def api(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.key}"}, timeout=30
    )


async def ring(
    stack: Stack, to: str, *, sid: str, signature: str | None = "sign"
) -> httpx.Response:
    """Twilio's voice webhook for a call to ``to``, signed like Twilio signs it."""
    url = f"{stack.base_url}/twilio/voice"
    params = {
        "CallSid": sid,
        "AccountSid": stack.twilio.account_sid,
        "From": CALLER,
        "To": to,
        "Direction": "inbound",
        "CallStatus": "ringing",
        "ApiVersion": "2010-04-01",
    }
    headers = {}
    if signature == "sign":
        headers["X-Twilio-Signature"] = request_signature(
            stack.twilio.auth_token, url, params.items()
        )
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, data=params, headers=headers)


async def inbound_calls(stack: Stack) -> list[Call]:
    async with stack.db.read() as session:
        return list(await session.scalars(select(Call).where(Call.direction == "inbound")))


async def test_bad_or_missing_signatures_are_refused(stack: Stack) -> None:
    before = len(await inbound_calls(stack))
    for signature in (None, "bm90IGEgc2lnbmF0dXJl"):
        response = await ring(stack, OUR_NUMBER, sid="CAbad", signature=signature)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert len(await inbound_calls(stack)) == before


async def test_unrouted_numbers_are_rejected(stack: Stack) -> None:
    response = await ring(stack, "+14155550143", sid="CAnobody")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response" and root.find("./Reject") is not None
    garbage = await ring(stack, "not-a-number", sid="CAgarbage")
    assert garbage.status_code == 200 and "<Reject/>" in garbage.text


async def test_an_inbound_call_talks_and_ends_in_post_processing(
    stack: Stack, lookup: Lookup
) -> None:
    lookup.body = {"prompt_variables": {"first_name": "Ann"}}
    async with api(stack) as client:
        created = await client.post(
            "/assistants",
            json={
                "name": "Reception",
                "prompt": "You are Ava at the dental clinic. The caller is {{first_name}}.",
                "first_sentence_mode": "static",
                "first_sentence": "Dental clinic, hello {{first_name}}.",
                "first_sentence_delay_ms": 0,
                "precall_lookup_url": lookup.url,
            },
        )
        assert created.status_code == 201, created.text
        assistant = created.json()["assistant"]
        added = await client.post(
            "/phone-numbers",
            json={
                "phone_number": OUR_NUMBER,
                "provider": "twilio",
                "inbound_assistant_id": assistant["id"],
            },
        )
        assert added.status_code == 201, added.text

    response = await ring(stack, OUR_NUMBER, sid="CAinbound0001")
    assert response.status_code == 200, response.text
    assert lookup.paths == ["/lookup?phone=%2B12125550199"]
    stream = ET.fromstring(response.text).find("./Connect/Stream")
    assert stream is not None
    url = stream.get("url") or ""
    assert url == f"{stack.base_url.replace('http://', 'ws://')}/twilio/inbound-stream"
    parameters = {p.get("name") or "": p.get("value") or "" for p in stream.findall("Parameter")}
    assert set(parameters) == {"attempt_id", "token"}
    # The webhook retried for the same call: the same answer, one call recorded.
    again = await ring(stack, OUR_NUMBER, sid="CAinbound0001")
    assert again.text == response.text
    assert len([c for c in await inbound_calls(stack) if c.to_phone_number == OUR_NUMBER]) == 1

    # A forged token is refused and concludes nothing.
    async with FakeTwilioCall(
        url, {**parameters, "token": "forged"}, call_sid="CAinbound0001"
    ) as bad:
        await asyncio.wait_for(bad.closed.wait(), 10)

    started = time.monotonic()
    async with FakeTwilioCall(url, parameters, call_sid="CAinbound0001") as phone:
        await phone.wait_for_speech(within=20)
        await phone.wait_for_quiet(quiet_secs=0.6)
        speech = caller_speech("I would like to book an appointment tomorrow morning.")
        # Bounded: should the server end the call first, the frames stop going out.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(phone.say(speech), 20)
        await asyncio.sleep(1.0)
    # The caller hung up: the session stores its records, then the order is concluded.
    attempt_id = parameters["attempt_id"]
    call: Call | None = None
    attempt: CallAttempt | None = None
    while time.monotonic() - started < 60:
        async with stack.db.read() as session:
            attempt = await session.get(CallAttempt, attempt_id)
            assert attempt is not None
            call = await session.get(Call, attempt.call_id)
        if call is not None and call.status != "calling":
            break
        await asyncio.sleep(0.1)
    assert call is not None and attempt is not None
    assert call.status == "post_processing", (call.status, attempt.engine)
    assert call.direction == "inbound"
    assert (call.to_phone_number, call.from_phone_number) == (OUR_NUMBER, CALLER)
    assert call.prompt_variables == {"first_name": "Ann"}
    assert attempt.status == "completed" and attempt.provider == "twilio"
    assert attempt.provider_call_id == "CAinbound0001"
    transcript: list[dict[str, Any]] = attempt.transcript or []
    assert (transcript[0]["role"], transcript[0]["content"]) == (
        "assistant",
        "Dental clinic, hello Ann.",
    )
    assert attempt.result in ("human", "unknown")
    # The calls API shows it, inbound.
    async with api(stack) as client:
        shown = (await client.get(f"/call/{call.id}")).json()["call"]
    assert shown["direction"] == "inbound" and shown["status"] == "post_processing"
    assert shown["call_attempts"][0]["transcript"][0]["content"] == "Dental clinic, hello Ann."
