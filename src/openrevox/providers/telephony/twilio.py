"""Twilio: dial through the REST API, talk over a media stream, end through the REST API.

``place_call`` creates the call (``POST /2010-04-01/Accounts/{sid}/Calls.json``) with
inline TwiML that connects it to our media-stream endpoint, then waits on the attempt
row: Twilio's status callbacks (``api/twilio_webhooks.py``) write its status there, and
the media-stream handler writes the runtime's records. Either may run in another
process than this one. docs/telephony.md has the whole story.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from openrevox.config import Settings
from openrevox.providers.telephony.attempt_records import (
    END_KEY,
    AttemptView,
    mark_dialled,
    read_attempt,
    set_ending,
)
from openrevox.providers.telephony.base import (
    AttemptOutcome,
    AttemptProgress,
    AttemptResult,
    DialError,
    DialRequest,
    EndedBy,
    TelephonyError,
)
from openrevox.providers.telephony.twilio_protocol import (
    ERROR_CODE_DIAL_ERRORS,
    STATUS_CALLBACK_EVENTS,
    STATUS_CALLBACK_PATH,
    dial_twiml,
    media_token,
    stream_twiml,
    websocket_url,
)
from openrevox.runtime.transports.twilio import MEDIA_STREAM_PATH
from openrevox.storage.database import Database
from openrevox.storage.models import utcnow

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
_MEDIA_START_GRACE_SECS = 3.0
# A machine answered and a message is to be left: the media session has this long to
# say it (the greeting, the message) before the worker hangs up.
VOICEMAIL_MESSAGE_GRACE_SECS = 90.0


def media_secret(settings: Settings) -> str:
    """The key of the media stream's token: its own setting, else the auth token's."""
    if settings.media_stream_secret is not None:
        return settings.media_stream_secret.get_secret_value()
    if settings.twilio_auth_token is not None:
        return "media:" + settings.twilio_auth_token.get_secret_value()
    raise TelephonyError("set OPENREVOX_MEDIA_STREAM_SECRET or OPENREVOX_TWILIO_AUTH_TOKEN")


def twilio_configured(settings: Settings) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token)


def status_callback_url(settings: Settings, attempt_id: str) -> str:
    base = (settings.public_base_url or "").rstrip("/")
    return f"{base}{STATUS_CALLBACK_PATH}?{urlencode({'attempt_id': attempt_id})}"


class TwilioTelephony:
    """``TelephonyProvider`` over Twilio's Programmable Voice REST API."""

    name = "twilio"

    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        """``db``: where attempts are; default: an engine of its own on the settings'
        database (closed by ``aclose``)."""
        if not twilio_configured(settings):
            raise TelephonyError(
                "twilio needs OPENREVOX_TWILIO_ACCOUNT_SID and OPENREVOX_TWILIO_AUTH_TOKEN"
            )
        if not settings.public_base_url:
            raise TelephonyError("twilio needs OPENREVOX_PUBLIC_BASE_URL (callbacks, media)")
        assert settings.twilio_account_sid is not None and settings.twilio_auth_token is not None
        self.settings = settings
        self._own_db = db is None
        self.db = db or Database(settings.database_url, pool_size=settings.database_pool_size)
        self._account_sid = settings.twilio_account_sid
        self._auth = (settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value())
        self._given_http = http
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0))

    async def aclose(self) -> None:
        if self._given_http is None:
            await self._http.aclose()
        if self._own_db:
            await self.db.dispose()

    # ---- REST ----

    def _url(self, path: str) -> str:
        base = self.settings.twilio_api_base_url.rstrip("/")
        return f"{base}/{API_VERSION}/Accounts/{quote(self._account_sid)}/{path}"

    async def _post(self, path: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            response = await self._http.post(self._url(path), data=data, auth=self._auth)
        except httpx.HTTPError as exc:
            raise TelephonyError(
                f"twilio: the REST API could not be reached ({type(exc).__name__})"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}

    @staticmethod
    def _rest_error(status: int, body: dict[str, Any]) -> TelephonyError:
        code = body.get("code")
        message = str(body.get("message") or "no message")[:300]
        return TelephonyError(f"twilio: HTTP {status}, error {code}: {message}")

    def dial_parameters(self, request: DialRequest, from_number: str) -> dict[str, Any]:
        """The form of ``POST Calls.json`` for one attempt (secrets: only the token)."""
        assert self.settings.public_base_url is not None
        stream = websocket_url(self.settings.public_base_url, MEDIA_STREAM_PATH)
        token = media_token(media_secret(self.settings), request.attempt_id)
        callback = status_callback_url(self.settings, request.attempt_id)
        data: dict[str, Any] = {
            "To": request.to_number,
            "From": from_number,
            "Twiml": stream_twiml(stream, {"attempt_id": request.attempt_id, "token": token}),
            "StatusCallback": callback,
            "StatusCallbackMethod": "POST",
            "StatusCallbackEvent": list(STATUS_CALLBACK_EVENTS),
            "Timeout": str(self.settings.twilio_ring_timeout_secs),
        }
        if self.settings.twilio_machine_detection:
            data |= {
                # With a message to leave, wait for the greeting's end (its beep): the
                # verdict then says when the machine records.
                "MachineDetection": "DetectMessageEnd" if _leaves_message(request) else "Enable",
                "AsyncAmd": "true",
                "AsyncAmdStatusCallback": callback,
                "AsyncAmdStatusCallbackMethod": "POST",
            }
        return data

    async def hang_up_call(self, call_sid: str) -> None:
        """End a Twilio call now (``Status=completed`` on the call resource)."""
        status, body = await self._post(f"Calls/{quote(call_sid)}.json", {"Status": "completed"})
        if status >= 400:
            raise self._rest_error(status, body)

    async def transfer_call(
        self,
        call_sid: str,
        phone_number: str,
        caller_id: str | None = None,
        *,
        whisper_url: str | None = None,
    ) -> None:
        """Bridge the callee to ``phone_number`` (new TwiML on the live call: the media
        stream ends and Twilio dials). A warm transfer gives ``whisper_url``: the person
        who answers hears the briefing served there, then is bridged."""
        twiml = dial_twiml(phone_number, caller_id, whisper_url)
        status, body = await self._post(f"Calls/{quote(call_sid)}.json", {"Twiml": twiml})
        if status >= 400:
            raise self._rest_error(status, body)

    # ---- TelephonyProvider ----

    async def hang_up(self, attempt_id: str) -> None:
        view = await read_attempt(self.db, attempt_id)
        if view is None or not view.provider_call_id or view.end_status is not None:
            return
        await self.hang_up_call(view.provider_call_id)

    async def place_call(self, request: DialRequest, progress: AttemptProgress) -> AttemptOutcome:
        started_at = utcnow()
        from_number = (
            request.from_number
            or request.assistant.get("from_phone_number")
            or self.settings.twilio_from_number
        )
        if not from_number:
            raise TelephonyError(
                "twilio: no number to call from (set OPENREVOX_TWILIO_FROM_NUMBER)"
            )
        await mark_dialled(
            self.db,
            request.attempt_id,
            provider=self.name,
            provider_call_id=None,
            at=started_at,
            from_number=from_number,
        )
        status, body = await self._post("Calls.json", self.dial_parameters(request, from_number))
        if status >= 400:
            dial_error = _rest_dial_error(body)
            if dial_error is None:
                raise self._rest_error(status, body)
            return AttemptOutcome(
                status="error",
                started_at=started_at,
                ended_at=utcnow(),
                dial_error=dial_error,
                error=str(body.get("message") or "")[:300] or None,
            )
        call_sid = str(body.get("sid") or "")
        if not call_sid:
            raise TelephonyError("twilio: the created call has no sid")
        await mark_dialled(
            self.db,
            request.attempt_id,
            provider=self.name,
            provider_call_id=call_sid,
            at=started_at,
        )
        try:
            return await self._follow(request, progress, call_sid, started_at)
        except BaseException:
            # Cancelled (the worker shuts down) or failed while the call may be live.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.hang_up(request.attempt_id))
            raise

    async def _follow(
        self,
        request: DialRequest,
        progress: AttemptProgress,
        call_sid: str,
        started_at: datetime,
    ) -> AttemptOutcome:
        interval = self.settings.twilio_poll_interval_secs
        deadline = time.monotonic() + self.settings.twilio_max_attempt_secs
        rang = answered = False
        ending: tuple[EndedBy, str | None] | None = None
        timed_out = False
        message_by: float | None = None  # a machine answered: the message is due by then
        while True:
            view = await read_attempt(self.db, request.attempt_id)
            if view is None:
                raise TelephonyError(f"attempt {request.attempt_id} disappeared")
            reached = view.status in ("ringing", "ongoing") or view.end_status == "completed"
            if not rang and reached:
                rang = True
                await progress.ringing(call_sid)
            if not answered and view.answered_at is not None:
                answered = True
                await progress.answered(view.answered_at)
            if view.end_status is not None:
                break
            if view.result == "voicemail" and ending is None and message_by is None:
                if _leaves_message(request) and view.media_state == "running":
                    # The media session hears the verdict, says the message after the
                    # greeting and hangs up; hang up ourselves only if it does not.
                    message_by = time.monotonic() + VOICEMAIL_MESSAGE_GRACE_SECS
                else:
                    # Answering-machine detection: leave the machine, no message.
                    ending = ("system", "voicemail")
                    await set_ending(self.db, request.attempt_id, "system", "voicemail")
                    await self._hang_up_quietly(call_sid)
            if message_by is not None and ending is None and time.monotonic() > message_by:
                ending = ("system", "voicemail")
                await set_ending(self.db, request.attempt_id, "system", "voicemail")
                await self._hang_up_quietly(call_sid)
            if time.monotonic() > deadline and not timed_out:
                timed_out = True
                ending = ("system", None)
                await self._hang_up_quietly(call_sid)
                deadline = time.monotonic() + self.settings.twilio_media_wait_secs + 30
            elif time.monotonic() > deadline:
                break
            await asyncio.sleep(interval)
        # The dispatcher may write progress after the callbacks did: the status, times
        # and dial error are those seen at the end; the records are read after the media.
        records = view
        if view.answered_at is not None:
            records = await self._wait_for_media(request.attempt_id, view)
        return _outcome(view, records, started_at, call_sid, ending, timed_out)

    async def _hang_up_quietly(self, call_sid: str) -> None:
        try:
            await self.hang_up_call(call_sid)
        except TelephonyError as exc:
            log.warning("hanging up %s failed: %s", call_sid, exc)

    async def _wait_for_media(self, attempt_id: str, view: AttemptView) -> AttemptView:
        """The call is over: wait until the media session has stored its records."""
        now = time.monotonic()
        deadline = now + self.settings.twilio_media_wait_secs
        start_deadline = now + _MEDIA_START_GRACE_SECS
        while view.media_state != "ended":
            now = time.monotonic()
            if now > deadline or (view.media_state is None and now > start_deadline):
                break
            await asyncio.sleep(self.settings.twilio_poll_interval_secs)
            fresh = await read_attempt(self.db, attempt_id)
            if fresh is None:
                break
            view = fresh
        return view


def _leaves_message(request: DialRequest) -> bool:
    return bool(str(request.assistant.get("voicemail_message") or "").strip())


def _rest_dial_error(body: dict[str, Any]) -> DialError | None:
    try:
        code = int(body.get("code") or 0)
    except (TypeError, ValueError):
        return None
    return ERROR_CODE_DIAL_ERRORS.get(code)


def _outcome(
    end: AttemptView,
    records: AttemptView,
    started_at: datetime,
    call_sid: str,
    ending: tuple[EndedBy, str | None] | None,
    timed_out: bool,
) -> AttemptOutcome:
    """``end``: the row when the call ended; ``records``: after the media session."""
    result: AttemptResult | None = records.result or end.result  # type: ignore[assignment]
    answered = end.answered_at is not None
    if answered and result is None:
        # No verdict from answering-machine detection (off, or not arrived).
        spoke = any(item.get("role") == "user" for item in records.transcript)
        result = "human" if spoke else "unknown"
    ended_by: EndedBy | None = records.ended_by  # type: ignore[assignment]
    end_reason = records.end_reason
    if ending is not None:
        ended_by, end_reason = ending
    status = "error" if end.end_status == "error" or timed_out else "completed"
    error = "the attempt outlived OPENREVOX_TWILIO_MAX_ATTEMPT_SECS" if timed_out else None
    if end.end_status is None and not timed_out:
        status, error = "error", "twilio never reported the end of the call"
    if answered and ended_by is None:
        ended_by = "user"
    engine = {k: v for k, v in records.engine.items() if k not in ("recording_path", END_KEY)}
    return AttemptOutcome(
        status=status,  # type: ignore[arg-type]
        started_at=end.started_at or started_at,
        ended_at=end.ended_at or utcnow(),
        result=result,
        dial_error=end.dial_error,  # type: ignore[arg-type]
        answered_at=end.answered_at,
        ended_by=ended_by,
        end_reason=end_reason,
        error=error,
        transcript=records.transcript,
        speech_events=records.speech_events,
        recording_path=records.engine.get("recording_path"),
        provider_call_id=call_sid,
        engine=engine,
    )
