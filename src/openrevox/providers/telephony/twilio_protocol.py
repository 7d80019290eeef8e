"""Twilio's wire, as pure functions: request signatures, media-stream tokens, the TwiML
that opens the stream, and the mapping of Twilio's statuses, error codes and answering-
machine verdicts to the SDK's attempt vocabulary (docs/telephony.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal
from xml.sax.saxutils import escape

from openrevox.providers.telephony.base import AttemptResult, DialError

STATUS_CALLBACK_PATH = "/twilio/status"
WHISPER_PATH = "/twilio/whisper"  # a warm transfer's briefing, played to the human
STATUS_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")

# ---- X-Twilio-Signature ----


def request_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's signature of a request: HMAC-SHA1, keyed with the auth token, of the full
    URL followed by every POST parameter's name and value, sorted by name; base64."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(
    auth_token: str, urls: Iterable[str], params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    """Whether ``signature`` signs the request for one of ``urls`` (the public URL and
    the URL as received: a proxy may rewrite one of them)."""
    if not signature:
        return False
    pairs = list(params)
    return any(
        hmac.compare_digest(request_signature(auth_token, url, pairs), signature) for url in urls
    )


# ---- the media stream's token ----


def media_token(secret: str, attempt_id: str) -> str:
    """What the TwiML's ``token`` parameter carries: proof that we opened this stream."""
    message = f"openrevox-media-stream:{attempt_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def media_token_valid(secret: str, attempt_id: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(media_token(secret, attempt_id), token or "")


# ---- TwiML ----


def _attr(value: str) -> str:
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def stream_twiml(stream_url: str, parameters: Mapping[str, str]) -> str:
    """``<Connect><Stream>`` to our media endpoint; the call ends when the stream closes."""
    params = "".join(
        f"<Parameter name={_attr(name)} value={_attr(value)}/>"
        for name, value in parameters.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Connect><Stream url={_attr(stream_url)}>{params}</Stream>"
        "</Connect></Response>"
    )


def dial_twiml(
    phone_number: str, caller_id: str | None = None, whisper_url: str | None = None
) -> str:
    """A transfer: the call leaves the stream and is bridged to ``phone_number``. With
    ``whisper_url`` (a warm transfer) Twilio first plays the TwiML found there to the
    person who answers — the briefing — then bridges them."""
    caller = f" callerId={_attr(caller_id)}" if caller_id else ""
    number = escape(phone_number)
    if whisper_url:
        number = f'<Number url={_attr(whisper_url)} method="POST">{number}</Number>'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Dial{caller}>{number}</Dial></Response>'
    )


def say_twiml(text: str | None) -> str:
    """``<Say>`` the text (nothing when empty): a warm transfer's briefing."""
    said = f"<Say>{escape(text)}</Say>" if text and text.strip() else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{said}</Response>'


def websocket_url(public_base_url: str, path: str) -> str:
    """``https://host/x`` → ``wss://host/x/path`` (``http`` → ``ws``, for loopback tests)."""
    base = public_base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return base + path


# ---- statuses, errors, answering machines ----

AttemptState = Literal["queued", "ringing", "ongoing", "completed", "error"]

# Twilio error codes (REST responses and the ErrorCode of a failed call) that are dial
# outcomes, not faults of the platform.
ERROR_CODE_DIAL_ERRORS: dict[int, DialError] = {
    21210: "precondition_failed",  # 'From' is not a verified number of the account
    21211: "number_non_attributed",  # invalid 'To' number
    21212: "precondition_failed",  # invalid 'From' number
    21214: "number_non_attributed",  # 'To' cannot be reached
    21215: "no_international_permission",  # geographic permissions
    21216: "no_international_permission",  # account not allowed to call this number
    21217: "number_non_attributed",  # invalid phone number
    21219: "precondition_failed",  # trial account: 'To' not verified
    13223: "number_non_attributed",  # invalid phone number format
    13224: "number_non_attributed",  # invalid phone number
    13225: "no_international_permission",  # forbidden phone number (blocked)
    13227: "no_international_permission",  # no international authorization
    20429: "too_many_calls",  # too many requests
    31486: "busy",  # SIP 486 Busy Here
    31480: "temporarily_unavailable",  # SIP 480
    31404: "number_non_attributed",  # SIP 404
}

# SIP response codes of a failed call (``SipResponseCode``).
SIP_DIAL_ERRORS: dict[int, DialError] = {
    404: "number_non_attributed",
    410: "number_non_attributed",
    484: "number_non_attributed",
    403: "no_international_permission",
    486: "busy",
    600: "busy",
    480: "temporarily_unavailable",
    503: "temporarily_unavailable",
    408: "no_answer",
    487: "no_answer",
    429: "too_many_calls",
}

ANSWERED_BY_RESULTS: dict[str, AttemptResult] = {
    "human": "human",
    "machine_start": "voicemail",
    "machine_end_beep": "voicemail",
    "machine_end_silence": "voicemail",
    "machine_end_other": "voicemail",
    "fax": "unknown",
    "unknown": "unknown",
}

TERMINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
_RANK: dict[str, int] = {"queued": 0, "ringing": 1, "ongoing": 2, "completed": 3, "error": 3}


def dial_error_for(error_code: str | int | None, sip_code: str | int | None = None) -> DialError:
    """A failed call's dial error from Twilio's ``ErrorCode`` / ``SipResponseCode``."""
    for table, raw in ((ERROR_CODE_DIAL_ERRORS, error_code), (SIP_DIAL_ERRORS, sip_code)):
        try:
            code = int(raw) if raw is not None and raw != "" else None
        except ValueError:
            code = None
        if code is not None and code in table:
            return table[code]
    return "non_classified_error"


def result_for(answered_by: str | None) -> AttemptResult | None:
    """The attempt's result from answering-machine detection's ``AnsweredBy``."""
    if not answered_by:
        return None
    return ANSWERED_BY_RESULTS.get(answered_by, "unknown")


@dataclass(frozen=True)
class StatusChange:
    """What one status callback means for the attempt."""

    status: AttemptState | None = None  # None: no change of status
    answered: bool = False
    ended: bool = False
    dial_error: DialError | None = None
    result: AttemptResult | None = None
    error: str | None = None
    answered_by: str | None = None  # answering-machine detection's raw verdict


def status_change(params: Mapping[str, str]) -> StatusChange:
    """Map a status (or asynchronous AMD) callback's parameters to an attempt change."""
    change = _status_change(params)
    answered_by = params.get("AnsweredBy") or None
    return replace(change, answered_by=answered_by) if answered_by else change


def _status_change(params: Mapping[str, str]) -> StatusChange:
    status = (params.get("CallStatus") or "").lower()
    result = result_for(params.get("AnsweredBy"))
    if status == "ringing":
        return StatusChange("ringing", result=result)
    if status in ("in-progress", "answered"):
        return StatusChange("ongoing", answered=True, result=result)
    if status == "completed":
        return StatusChange("completed", ended=True, result=result)
    if status == "busy":
        return StatusChange("error", ended=True, dial_error="busy")
    if status == "no-answer":
        return StatusChange("error", ended=True, dial_error="no_answer")
    if status == "failed":
        dial_error = dial_error_for(params.get("ErrorCode"), params.get("SipResponseCode"))
        return StatusChange("error", ended=True, dial_error=dial_error)
    if status == "canceled":
        return StatusChange("error", ended=True, error="the call was canceled before an answer")
    return StatusChange(result=result)  # queued, initiated, or an AMD callback alone


def moves_forward(current: str, new: str) -> bool:
    """Callbacks may arrive twice or out of order: a status never goes back."""
    return _RANK.get(new, 0) > _RANK.get(current, 0)
