"""Twilio's wire as pure functions: signatures, tokens, TwiML, status/AMD/error mapping."""

from __future__ import annotations

import pytest

from openrevox.providers.telephony.twilio_protocol import (
    StatusChange,
    dial_error_for,
    dial_twiml,
    media_token,
    media_token_valid,
    moves_forward,
    request_signature,
    result_for,
    signature_valid,
    status_change,
    stream_twiml,
    websocket_url,
)

# A known answer: a voice request and its signature, as Twilio's own libraries test it.
VECTOR_TOKEN = "2bd9e9638872de601313dc77410d3b23"
VECTOR_URL = "http://twiliotests.heroku.com/validate/voice"
VECTOR_PARAMS = {
    "ToState": "California",
    "CalledState": "California",
    "Direction": "inbound",
    "FromState": "CA",
    "AccountSid": "ACba8bc05eacf94afdae398e642c9cc32d",
    "Caller": "+14153595711",
    "CallerZip": "94108",
    "CallerCountry": "US",
    "From": "+14153595711",
    "FromCity": "SAN FRANCISCO",
    "CallerCity": "SAN FRANCISCO",
    "To": "+14157669926",
    "FromZip": "94108",
    "FromCountry": "US",
    "ToCity": "",
    "CallStatus": "ringing",
    "CalledCity": "",
    "CallerState": "CA",
    "CalledZip": "",
    "ToZip": "",
    "ToCountry": "US",
    "CallSid": "CA136d09cd59a3c0ec8dbff44da5c03f31",
    "CalledCountry": "US",
    "Called": "+14157669926",
    "ApiVersion": "2010-04-01",
    "ApplicationSid": "AP44efecad51364e80b133bb7c07eb8204",
}
VECTOR_SIGNATURE = "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA="


def test_signature_matches_twilios_known_answer() -> None:
    assert request_signature(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS.items()) == VECTOR_SIGNATURE


def test_signature_valid_tampered_and_missing() -> None:
    params = list(VECTOR_PARAMS.items())
    assert signature_valid(VECTOR_TOKEN, [VECTOR_URL], params, VECTOR_SIGNATURE)
    assert signature_valid(VECTOR_TOKEN, ["https://proxy/x", VECTOR_URL], params, VECTOR_SIGNATURE)
    tampered = [(k, "busy" if k == "CallStatus" else v) for k, v in params]
    assert not signature_valid(VECTOR_TOKEN, [VECTOR_URL], tampered, VECTOR_SIGNATURE)
    assert not signature_valid(VECTOR_TOKEN, [VECTOR_URL + "?x=1"], params, VECTOR_SIGNATURE)
    assert not signature_valid("other-token", [VECTOR_URL], params, VECTOR_SIGNATURE)
    assert not signature_valid(VECTOR_TOKEN, [VECTOR_URL], params, None)
    assert not signature_valid(VECTOR_TOKEN, [VECTOR_URL], params, "")


def test_media_token() -> None:
    token = media_token("secret", "attempt-1")
    assert media_token_valid("secret", "attempt-1", token)
    assert not media_token_valid("secret", "attempt-2", token)
    assert not media_token_valid("other", "attempt-1", token)
    assert not media_token_valid("secret", "attempt-1", None)


def test_twiml_and_stream_url() -> None:
    url = websocket_url("https://voice.example.com/", "/twilio/media-stream")
    assert url == "wss://voice.example.com/twilio/media-stream"
    assert websocket_url("http://127.0.0.1:8000", "/s") == "ws://127.0.0.1:8000/s"
    twiml = stream_twiml(url, {"attempt_id": "a&1", "token": 't"k'})
    assert twiml.endswith(
        '<Response><Connect><Stream url="wss://voice.example.com/twilio/media-stream">'
        '<Parameter name="attempt_id" value="a&amp;1"/>'
        '<Parameter name="token" value="t&quot;k"/></Stream></Connect></Response>'
    )


def test_transfer_twiml() -> None:
    assert dial_twiml("+12025550199", "+15005550006").endswith(
        '<Response><Dial callerId="+15005550006">+12025550199</Dial></Response>'
    )
    assert dial_twiml("+1<2>").endswith("<Dial>+1&lt;2&gt;</Dial></Response>")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"CallStatus": "queued"}, StatusChange()),
        ({"CallStatus": "initiated"}, StatusChange()),
        ({"CallStatus": "ringing"}, StatusChange("ringing")),
        ({"CallStatus": "in-progress"}, StatusChange("ongoing", answered=True)),
        (
            {"CallStatus": "in-progress", "AnsweredBy": "human"},
            StatusChange("ongoing", answered=True, result="human", answered_by="human"),
        ),
        ({"CallStatus": "completed"}, StatusChange("completed", ended=True)),
        ({"CallStatus": "busy"}, StatusChange("error", ended=True, dial_error="busy")),
        ({"CallStatus": "no-answer"}, StatusChange("error", ended=True, dial_error="no_answer")),
        (
            {"CallStatus": "failed", "ErrorCode": "21211"},
            StatusChange("error", ended=True, dial_error="number_non_attributed"),
        ),
        (
            {"CallStatus": "failed", "ErrorCode": "21215"},
            StatusChange("error", ended=True, dial_error="no_international_permission"),
        ),
        (
            {"CallStatus": "failed", "ErrorCode": "32009"},
            StatusChange("error", ended=True, dial_error="non_classified_error"),
        ),
        (
            {"CallStatus": "canceled"},
            StatusChange("error", ended=True, error="the call was canceled before an answer"),
        ),
        (
            {"AnsweredBy": "machine_start"},
            StatusChange(result="voicemail", answered_by="machine_start"),
        ),
    ],
)
def test_status_mapping(params: dict[str, str], expected: StatusChange) -> None:
    assert status_change(params) == expected


@pytest.mark.parametrize(
    ("error_code", "sip_code", "expected"),
    [
        ("21211", None, "number_non_attributed"),
        ("21214", None, "number_non_attributed"),
        ("21215", None, "no_international_permission"),
        ("21216", None, "no_international_permission"),
        ("20429", None, "too_many_calls"),
        ("31486", None, "busy"),
        (None, "486", "busy"),
        (None, "480", "temporarily_unavailable"),
        (None, "404", "number_non_attributed"),
        ("99999", "500", "non_classified_error"),
        ("", None, "non_classified_error"),
        ("not-a-number", None, "non_classified_error"),
        (None, None, "non_classified_error"),
    ],
)
def test_dial_errors(error_code: str | None, sip_code: str | None, expected: str) -> None:
    assert dial_error_for(error_code, sip_code) == expected


@pytest.mark.parametrize(
    ("answered_by", "expected"),
    [
        ("human", "human"),
        ("machine_start", "voicemail"),
        ("machine_end_beep", "voicemail"),
        ("machine_end_silence", "voicemail"),
        ("machine_end_other", "voicemail"),
        ("fax", "unknown"),
        ("unknown", "unknown"),
        ("something-new", "unknown"),
        (None, None),
        ("", None),
    ],
)
def test_answering_machine_mapping(answered_by: str | None, expected: str | None) -> None:
    assert result_for(answered_by) == expected


def test_statuses_never_go_back() -> None:
    assert moves_forward("queued", "ringing")
    assert moves_forward("ringing", "ongoing")
    assert moves_forward("ongoing", "completed")
    assert not moves_forward("ongoing", "ringing")
    assert not moves_forward("completed", "error")
    assert not moves_forward("error", "completed")
    assert not moves_forward("ringing", "ringing")
