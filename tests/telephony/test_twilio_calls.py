"""``TwilioTelephony`` end to end against the fake Twilio: dialling, callbacks, the media
session over the stream, hang-up, REST errors, and the recordings endpoint."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import websockets
from pydantic import SecretStr

from openrevox.providers.telephony.base import TelephonyError
from openrevox.providers.telephony.twilio_protocol import request_signature
from openrevox.runtime.transports.twilio import MEDIA_STREAM_PATH
from openrevox.testing.fake_openai import call
from openrevox.testing.fake_twilio import (
    Answered,
    Busy,
    Failed,
    FakeCall,
    NoAnswer,
    RestError,
    silent_media,
)
from tests.audio.twilio_peer import FakeTwilioCall, caller_speech

from .conftest import Progress, Stack, attempt_row, new_attempt

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _until(event: asyncio.Event, other: asyncio.Event, secs: float) -> None:
    waits = {asyncio.create_task(event.wait()), asyncio.create_task(other.wait())}
    _, pending = await asyncio.wait(waits, timeout=secs, return_when="FIRST_COMPLETED")
    for task in pending:
        task.cancel()


async def human_conversation(twilio_call: FakeCall) -> None:
    """The callee hears the greeting, answers, and stays until the agent hangs up."""
    async with FakeTwilioCall(
        twilio_call.stream_url, twilio_call.parameters, call_sid=twilio_call.sid
    ) as phone:
        await phone.wait_for_speech(within=20)
        await phone.wait_for_quiet(quiet_secs=0.6)
        await phone.say(caller_speech("Yes, I will be there tomorrow morning."))
        await _until(phone.closed, twilio_call.hung_up, 30)


# ---- dial outcomes ----


async def test_busy(stack: Stack) -> None:
    stack.twilio.on("+12025550102", Busy(ring_secs=0.5))
    request = await new_attempt(stack, "+12025550102")
    progress = Progress(stack.db, request.attempt_id)
    outcome = await stack.provider().place_call(request, progress)
    assert (outcome.status, outcome.dial_error, outcome.result) == ("error", "busy", None)
    assert outcome.answered_at is None and progress.answered_at == []
    sid = stack.twilio.call_to("+12025550102").sid
    assert outcome.provider_call_id == sid and progress.rang == [sid]
    row = await attempt_row(stack, request.attempt_id)
    assert (row.status, row.dial_error, row.provider, row.provider_call_id) == (
        "error",
        "busy",
        "twilio",
        sid,
    )
    assert row.ended_at is not None and row.started_at is not None


class LateProgress(Progress):
    """The dispatcher writes ``ringing`` after Twilio already said busy."""

    async def ringing(self, provider_call_id: str | None) -> None:
        await asyncio.sleep(0.8)
        await super().ringing(provider_call_id)


async def test_a_late_progress_write_does_not_hide_the_end(stack: Stack) -> None:
    stack.twilio.on("+12025550122", Busy(ring_secs=0.3))
    request = await new_attempt(stack, "+12025550122")
    progress = LateProgress(stack.db, request.attempt_id)
    outcome = await asyncio.wait_for(stack.provider().place_call(request, progress), 10)
    assert (outcome.status, outcome.dial_error) == ("error", "busy")
    assert (await attempt_row(stack, request.attempt_id)).status == "ringing"  # overwritten


async def test_no_answer(stack: Stack) -> None:
    stack.twilio.on("+12025550103", NoAnswer())
    request = await new_attempt(stack, "+12025550103")
    outcome = await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))
    assert (outcome.status, outcome.dial_error) == ("error", "no_answer")


@pytest.mark.parametrize(
    ("scenario", "dial_error"),
    [
        (Failed(error_code=21214), "number_non_attributed"),
        (Failed(error_code=21215), "no_international_permission"),
        (Failed(sip_code=480), "temporarily_unavailable"),
        (Failed(error_code=32009), "non_classified_error"),
    ],
)
async def test_failed_calls(stack: Stack, scenario: Failed, dial_error: str) -> None:
    stack.twilio.on("+12025550109", scenario)
    request = await new_attempt(stack, "+12025550109")
    outcome = await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))
    assert (outcome.status, outcome.dial_error) == ("error", dial_error)


async def test_dial_request_carries_stream_callbacks_and_amd(stack: Stack) -> None:
    stack.twilio.on("+12025550110", Busy())
    request = await new_attempt(stack, "+12025550110")
    await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))
    sent = stack.twilio.call_to("+12025550110")
    assert sent.value("From") == "+15005550006"
    assert (
        sent.stream_url == f"ws://127.0.0.1:{stack.base_url.rsplit(':', 1)[1]}{MEDIA_STREAM_PATH}"
    )
    assert sent.parameters["attempt_id"] == request.attempt_id
    assert len(sent.parameters["token"]) == 64
    assert sent.value("StatusCallback") == (
        f"{stack.base_url}/twilio/status?attempt_id={request.attempt_id}"
    )
    assert sent.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert (sent.value("MachineDetection"), sent.value("AsyncAmd")) == ("Enable", "true")
    assert all(status == 204 for _, status in sent.callbacks)


# ---- REST errors ----


async def test_rest_dial_error_is_an_outcome(stack: Stack) -> None:
    stack.twilio.on("+12025550111", RestError(400, 21211, "The 'To' number is not valid."))
    request = await new_attempt(stack, "+12025550111")
    outcome = await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))
    assert (outcome.status, outcome.dial_error) == ("error", "number_non_attributed")
    stack.twilio.on("+12025550112", RestError(429, 20429, "Too Many Requests"))
    request = await new_attempt(stack, "+12025550112")
    outcome = await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))
    assert outcome.dial_error == "too_many_calls"


async def test_rest_failures_raise_without_secrets(stack: Stack) -> None:
    stack.twilio.on("+12025550113", RestError(500, 20500, "Internal Server Error"))
    request = await new_attempt(stack, "+12025550113")
    with pytest.raises(TelephonyError, match="HTTP 500, error 20500"):
        await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))

    wrong = stack.provider(twilio_auth_token=SecretStr("wrong-token-value"))
    request = await new_attempt(stack, "+12025550114")
    with pytest.raises(TelephonyError) as raised:
        await wrong.place_call(request, Progress(stack.db, request.attempt_id))
    assert "HTTP 401" in str(raised.value) and "wrong-token-value" not in str(raised.value)

    down = stack.provider(twilio_api_base_url="http://127.0.0.1:9")
    request = await new_attempt(stack, "+12025550115")
    with pytest.raises(TelephonyError, match="could not be reached") as raised:
        await down.place_call(request, Progress(stack.db, request.attempt_id))
    assert stack.twilio.auth_token not in str(raised.value)


# ---- answered calls ----


async def test_human_answers_and_talks(stack: Stack) -> None:
    stack.replies["after_user"] = call("end_call", reason="confirmed")
    stack.twilio.on("+12025550100", Answered("human", media=human_conversation))
    request = await new_attempt(
        stack, "+12025550100", {"end_of_call_sentence": "Perfect, see you tomorrow."}
    )
    progress = Progress(stack.db, request.attempt_id)
    started = time.monotonic()
    outcome = await stack.provider().place_call(request, progress)
    twilio_call = stack.twilio.call_to("+12025550100")
    assert twilio_call.media_error is None
    assert time.monotonic() - started < 60
    assert outcome.status == "completed" and outcome.result == "human"
    assert outcome.answered_at is not None and progress.answered_at == [outcome.answered_at]
    assert (outcome.ended_by, outcome.end_reason) == ("agent", "tool_end_call")
    said = [(item["role"], item.get("tool_name") or item["content"]) for item in outcome.transcript]
    assert said[0] == ("assistant", request.assistant["first_sentence"])
    heard = " ".join(text for role, text in said if role == "user").lower()
    assert {"there", "tomorrow", "morning"} & set(heard.split()), said
    assert ("tool", "end_call") in said
    assert outcome.speech_events and outcome.speech_events[0]["speaker"] == "agent"
    assert outcome.engine["tts"] == "local-piper" and outcome.engine["stt"] == "local-pocketsphinx"
    assert twilio_call.hangups == ["completed"]  # the agent hung up through the REST API
    row = await attempt_row(stack, request.attempt_id)
    assert row.status == "completed" and row.result == "human"
    assert row.recording_url == f"{stack.base_url}/recordings/{request.attempt_id}"
    assert outcome.recording_path is not None

    # The recording: the caller's organization only.
    async with httpx.AsyncClient(base_url=stack.base_url) as client:
        own = await client.get(
            f"/recordings/{request.attempt_id}", headers={"Authorization": f"Bearer {stack.key}"}
        )
        other = await client.get(
            f"/recordings/{request.attempt_id}",
            headers={"Authorization": f"Bearer {stack.other_key}"},
        )
        anonymous = await client.get(f"/recordings/{request.attempt_id}")
        missing = await client.get(
            "/recordings/no-such-attempt", headers={"Authorization": f"Bearer {stack.key}"}
        )
    assert own.status_code == 200 and own.headers["content-type"] == "audio/wav"
    assert own.content[:4] == b"RIFF" and own.content[8:12] == b"WAVE"
    assert int.from_bytes(own.content[22:24], "little") == 2  # stereo
    assert len(own.content) > 8000 * 2 * 2  # over a second of 8 kHz stereo
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert anonymous.status_code == 401
    assert missing.status_code == 404


async def test_agent_transfers_through_the_rest_api(stack: Stack) -> None:
    stack.replies["after_user"] = call(
        "transfer_call", "Let me connect you.", reason="wants a human"
    )
    stack.twilio.on("+12025550104", Answered("human", media=human_conversation))
    sales = {"label": "Sales", "phone_number": "+12025550199"}
    request = await new_attempt(stack, "+12025550104", {"transfer_destinations": [sales]})
    outcome = await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))
    twilio_call = stack.twilio.call_to("+12025550104")
    assert twilio_call.media_error is None
    assert (outcome.ended_by, outcome.end_reason) == ("agent", "transfer")
    assert twilio_call.hangups == []
    assert len(twilio_call.redirects) == 1
    assert twilio_call.redirects[0].endswith(
        '<Response><Dial callerId="+15005550006">+12025550199</Dial></Response>'
    )


async def test_a_warm_transfer_briefs_the_human_then_bridges(stack: Stack) -> None:
    stack.replies["after_user"] = call(
        "transfer_call", "Let me connect you.", reason="wants a human"
    )
    briefing = "Ann wants to move her appointment to Friday morning."
    stack.replies["system:handover briefing"] = briefing
    stack.twilio.on("+12025550114", Answered("human", media=human_conversation))
    sales = {"label": "Sales", "phone_number": "+12025550199"}
    request = await new_attempt(
        stack,
        "+12025550114",
        {
            "transfer_destinations": [sales],
            "human_transfer_mode": "warm",
            "warm_transfer_summary_instructions": "Write the handover briefing.",
        },
    )
    try:
        outcome = await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))
    finally:
        del stack.replies["system:handover briefing"]
    twilio_call = stack.twilio.call_to("+12025550114")
    assert (outcome.ended_by, outcome.end_reason) == ("agent", "transfer")
    whisper = f"{stack.base_url}/twilio/whisper?attempt_id={request.attempt_id}"
    [redirect] = twilio_call.redirects
    assert redirect.endswith(
        f'<Dial callerId="+15005550006"><Number url="{whisper}" method="POST">'
        "+12025550199</Number></Dial></Response>"
    )
    # Twilio fetches the briefing (signed) when the human answers, then bridges.
    params = {"CallSid": "CA" + "1" * 32, "AccountSid": stack.twilio.account_sid}
    async with httpx.AsyncClient() as client:
        heard = await client.post(whisper, data=params, headers=_sign(stack, whisper, params))
        forged = await client.post(whisper, data=params, headers={"X-Twilio-Signature": "forged"})
    assert heard.status_code == 200 and heard.headers["content-type"].startswith("text/xml")
    assert heard.text.endswith(f"<Response><Say>{briefing}</Say></Response>")
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "forbidden"


async def test_machine_answers(stack: Stack) -> None:
    stack.twilio.on("+12025550101", Answered("machine_end_beep", media=silent_media))
    request = await new_attempt(stack, "+12025550101")
    outcome = await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))
    twilio_call = stack.twilio.call_to("+12025550101")
    assert outcome.status == "completed" and outcome.result == "voicemail"
    assert (outcome.ended_by, outcome.end_reason) == ("system", "voicemail")
    assert twilio_call.hangups == ["completed"]
    row = await attempt_row(stack, request.attempt_id)
    assert (row.result, row.ended_by, row.end_reason) == ("voicemail", "system", "voicemail")
    assert row.engine is not None and row.engine["media"] == "ended"


async def test_a_machine_gets_the_voicemail_message_after_its_greeting(stack: Stack) -> None:
    """With a voicemail message, detection waits for the greeting's end (the beep); the
    media session hears the verdict, says the message, and hangs up."""
    message = "Hi, Ava from Acme here. Please call us back."
    stack.twilio.on("+12025550111", Answered("machine_end_beep", media=silent_media))
    request = await new_attempt(stack, "+12025550111", {"voicemail_message": message})
    outcome = await stack.provider().place_call(request, Progress(stack.db, request.attempt_id))
    twilio_call = stack.twilio.call_to("+12025550111")
    assert twilio_call.value("MachineDetection") == "DetectMessageEnd"
    assert outcome.status == "completed" and outcome.result == "voicemail"
    assert (outcome.ended_by, outcome.end_reason) == ("agent", "voicemail")
    assert twilio_call.hangups == ["completed"]  # by the media session, after the message
    row = await attempt_row(stack, request.attempt_id)
    said = [(t["role"], t["content"]) for t in row.transcript or []]
    assert said[-1] == ("assistant", message)
    assert row.engine is not None and row.engine["answered_by"] == "machine_end_beep"


async def test_hang_up_a_live_call(stack: Stack) -> None:
    stack.twilio.on("+12025550120", Answered(None, media=silent_media))
    request = await new_attempt(stack, "+12025550120")
    progress = Progress(stack.db, request.attempt_id)
    provider = stack.provider()
    dialling = asyncio.create_task(provider.place_call(request, progress))
    deadline = time.monotonic() + 20
    while not progress.answered_at:
        assert time.monotonic() < deadline and not dialling.done()
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    await provider.hang_up(request.attempt_id)
    outcome = await asyncio.wait_for(dialling, 30)
    assert stack.twilio.call_to("+12025550120").hangups[0] == "completed"
    assert outcome.status == "completed" and outcome.answered_at is not None
    assert outcome.result == "unknown"  # no AMD verdict, the callee said nothing
    await provider.hang_up(request.attempt_id)  # over: nothing to do


async def test_a_cancelled_dial_hangs_up(stack: Stack) -> None:
    stack.twilio.on("+12025550121", NoAnswer(ring_secs=30))
    request = await new_attempt(stack, "+12025550121")
    progress = Progress(stack.db, request.attempt_id)
    dialling = asyncio.create_task(stack.provider().place_call(request, progress))
    deadline = time.monotonic() + 10
    while not progress.rang:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    dialling.cancel()  # the worker shuts down
    with pytest.raises(asyncio.CancelledError):
        await dialling
    twilio_call = stack.twilio.call_to("+12025550121")
    assert twilio_call.hangups == ["completed"]
    assert await asyncio.to_thread(twilio_call.done.wait, 10)
    row = await attempt_row(stack, request.attempt_id)
    assert row.status == "error"  # Twilio reported it canceled


# ---- the callback route and the media stream's door ----


def _sign(stack: Stack, url: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": request_signature(stack.twilio.auth_token, url, params.items())}


async def test_status_callback_signature(stack: Stack) -> None:
    request = await new_attempt(stack, "+12025550130")
    url = f"{stack.base_url}/twilio/status?attempt_id={request.attempt_id}"
    params = {"CallSid": "CA" + "1" * 32, "AccountSid": stack.twilio.account_sid}
    async with httpx.AsyncClient() as client:

        async def post(status: str, headers: dict[str, str], **extra: str) -> httpx.Response:
            body = {**params, "CallStatus": status, **extra}
            return await client.post(url, data=body, headers=headers)

        ringing = {**params, "CallStatus": "ringing"}
        tampered = await post("in-progress", _sign(stack, url, ringing))
        missing = await post("ringing", {})
        assert tampered.status_code == missing.status_code == 403
        assert tampered.json()["error"]["code"] == "forbidden"
        assert (await attempt_row(stack, request.attempt_id)).status == "queued"

        ok = await post("ringing", _sign(stack, url, ringing))
        assert ok.status_code == 204
        answered = {**params, "CallStatus": "in-progress"}
        for _ in range(2):  # a repeated callback changes nothing
            assert (await post("in-progress", _sign(stack, url, answered))).status_code == 204
        row = await attempt_row(stack, request.attempt_id)
        assert (row.status, row.provider_call_id) == ("ongoing", params["CallSid"])
        first_answer = row.answered_at
        assert first_answer is not None
        late_ringing = await post("ringing", _sign(stack, url, ringing))  # out of order
        assert late_ringing.status_code == 204
        amd = {**params, "AnsweredBy": "machine_start"}
        assert (await client.post(url, data=amd, headers=_sign(stack, url, amd))).status_code == 204
        done = {**params, "CallStatus": "completed"}
        assert (await post("completed", _sign(stack, url, done))).status_code == 204
        row = await attempt_row(stack, request.attempt_id)
        assert (row.status, row.answered_at, row.result) == ("completed", first_answer, "voicemail")
        busy = {**params, "CallStatus": "busy"}
        assert (await post("busy", _sign(stack, url, busy))).status_code == 204
        row = await attempt_row(stack, request.attempt_id)
        assert (row.status, row.dial_error) == ("completed", None)  # terminal stays

        foreign = {**params, "AccountSid": "AC" + "9" * 32, "CallStatus": "failed"}
        response = await client.post(url, data=foreign, headers=_sign(stack, url, foreign))
        assert response.status_code == 403

        unknown_url = f"{stack.base_url}/twilio/status?attempt_id=no-such-attempt"
        response = await client.post(
            unknown_url, data=done, headers=_sign(stack, unknown_url, done)
        )
        assert response.status_code == 204

        other_sid = {**params, "CallSid": "CA" + "2" * 32, "CallStatus": "busy"}
        response = await client.post(url, data=other_sid, headers=_sign(stack, url, other_sid))
        assert response.status_code == 204  # acknowledged, but not this attempt's call


async def test_media_stream_refuses_a_bad_token(stack: Stack) -> None:
    request = await new_attempt(stack, "+12025550140")
    ws_url = stack.base_url.replace("http://", "ws://") + MEDIA_STREAM_PATH
    start: dict[str, Any] = {
        "event": "start",
        "streamSid": "MZ1",
        "start": {
            "streamSid": "MZ1",
            "callSid": "CA1",
            "customParameters": {"attempt_id": request.attempt_id, "token": "0" * 64},
        },
    }
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"event": "connected"}))
        await ws.send(json.dumps(start))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    row = await attempt_row(stack, request.attempt_id)
    assert row.engine is None and row.transcript is None
