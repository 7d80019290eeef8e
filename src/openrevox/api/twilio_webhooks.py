"""What Twilio calls on us: status callbacks (signed) and the media stream (tokened).

- ``POST /twilio/status?attempt_id=...``: call progress and asynchronous answering-
  machine verdicts. ``X-Twilio-Signature`` is checked (403 otherwise); the change is
  written to the attempt row, idempotently (a status never goes back).
- ``POST /twilio/whisper?attempt_id=...`` (signed): a warm transfer's briefing, played
  to the person who answers before the bridge.
- ``/twilio/media-stream`` (WebSocket): the ``<Connect><Stream>`` of a dialled call.
  Its ``attempt_id`` and ``token`` parameters are checked (close 1008 otherwise), then
  a ``CallSession`` talks over it and its records are written to the attempt.

Neither dials: the worker that placed the call waits on the row (docs/telephony.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import Response

from openrevox.api.errors import error_body
from openrevox.api.responses import WireJSON
from openrevox.config import Settings
from openrevox.providers.sms.factory import in_call_sms_log
from openrevox.providers.telephony import attempt_records
from openrevox.providers.telephony.base import TelephonyError
from openrevox.providers.telephony.twilio import (
    TwilioTelephony,
    media_secret,
    twilio_configured,
)
from openrevox.providers.telephony.twilio_protocol import (
    STATUS_CALLBACK_PATH,
    WHISPER_PATH,
    media_token_valid,
    say_twiml,
    signature_valid,
    status_change,
)
from openrevox.runtime.audio.legs import AudioOptions
from openrevox.runtime.audio.recording import recording_path
from openrevox.runtime.call_config import resolve_call_config
from openrevox.runtime.result import TransferRequest
from openrevox.runtime.session import CallSession
from openrevox.runtime.transports.twilio import (
    TwilioCallTransport,
    TwilioStreamStart,
    twilio_call_audio,
    twilio_media_router,
)
from openrevox.storage.database import Database
from openrevox.storage.models import utcnow

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
# Answering-machine detection decides within its timeout (30 s) plus a greeting; past this
# the media session stops reading the attempt row for a verdict.
AMD_VERDICT_WAIT_SECS = 90.0


def _forbidden(message: str) -> WireJSON:
    return WireJSON(error_body("forbidden", message), status_code=403)


def public_url(settings: Settings, path_and_query: str) -> str | None:
    if not settings.public_base_url:
        return None
    return settings.public_base_url.rstrip("/") + path_and_query


def recording_url(settings: Settings, attempt_id: str) -> str:
    path = f"/recordings/{attempt_id}"
    return public_url(settings, path) or path


def status_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post(STATUS_CALLBACK_PATH)
    async def twilio_status(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        db: Database = request.app.state.db
        params = await signed_form(request, settings)
        if isinstance(params, WireJSON):
            return params
        form = dict(params)
        attempt_id = request.query_params.get("attempt_id")
        if not attempt_id:
            return Response(status_code=204)
        if settings.twilio_account_sid and form.get("AccountSid") not in (
            None,
            settings.twilio_account_sid,
        ):
            return _forbidden("the callback is for another Twilio account")
        change = status_change(form)
        applied = await attempt_records.apply_status(db, attempt_id, form.get("CallSid"), change)
        if not applied:
            log.warning("twilio status callback for an unknown attempt %s", attempt_id)
        return Response(status_code=204)

    @router.post(WHISPER_PATH)
    async def twilio_whisper(request: Request) -> Response:
        """A warm transfer: the briefing the human hears before being bridged."""
        settings: Settings = request.app.state.settings
        params = await signed_form(request, settings)
        if isinstance(params, WireJSON):
            return params
        view = await attempt_records.read_attempt(
            request.app.state.db, request.query_params.get("attempt_id", "")
        )
        briefing = view.engine.get(attempt_records.BRIEFING_KEY) if view else None
        return Response(say_twiml(str(briefing or "")), media_type="text/xml")

    return router


async def signed_form(request: Request, settings: Settings) -> list[tuple[str, str]] | WireJSON:
    """The form Twilio posted, once its ``X-Twilio-Signature`` checks out (else a 403)."""
    if settings.twilio_auth_token is None:
        return _forbidden("twilio is not configured on this server")
    body = (await request.body()).decode("utf-8", errors="replace")
    params = parse_qsl(body, keep_blank_values=True)
    path_and_query = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    urls = [str(request.url)]
    public = public_url(settings, path_and_query)
    if public:
        urls.insert(0, public)
    token = settings.twilio_auth_token.get_secret_value()
    if not signature_valid(token, urls, params, request.headers.get("x-twilio-signature")):
        return _forbidden("invalid X-Twilio-Signature")
    return params


async def run_media_session(websocket: WebSocket, start: TwilioStreamStart) -> None:
    """The media-stream handler: check the token, run the call, store its records."""
    app: FastAPI = websocket.app
    settings: Settings = app.state.settings
    db: Database = app.state.db
    attempt_id = start.custom_parameters.get("attempt_id", "")
    try:
        secret = media_secret(settings)
    except TelephonyError:
        secret = None
    token = start.custom_parameters.get("token")
    if secret is None or not attempt_id or not media_token_valid(secret, attempt_id, token):
        log.warning("twilio media stream refused: bad token for attempt %r", attempt_id)
        await websocket.close(code=POLICY_VIOLATION)
        return
    context = await attempt_records.media_context(db, attempt_id)
    if context is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await attempt_records.set_media_state(db, attempt_id, "running")
    engine: dict[str, Any] = {"telephony": "twilio"}
    path = recording_path(settings, attempt_id)
    telephony = TwilioTelephony(settings, db) if _can_dial(settings) else None
    call_sid = start.call_sid or context.provider_call_id

    async def hang_up() -> None:
        if telephony is not None and call_sid:
            try:
                await telephony.hang_up_call(call_sid)
                return
            except TelephonyError as exc:
                log.warning("REST hang-up failed (%s); closing the stream instead", exc)
        with contextlib.suppress(RuntimeError):  # already closed
            await websocket.close()  # ends a <Connect><Stream> call

    async def transfer(request: TransferRequest) -> None:
        if telephony is None or not call_sid:
            raise TelephonyError("transfers need Twilio's REST API (account SID and token)")
        whisper_url = None
        if request.mode == "warm" and request.summary:
            await attempt_records.set_engine_value(
                db, attempt_id, attempt_records.BRIEFING_KEY, request.summary
            )
            whisper_url = public_url(
                settings, f"{WHISPER_PATH}?{urlencode({'attempt_id': attempt_id})}"
            )
        await telephony.transfer_call(
            call_sid, request.phone_number, context.from_number, whisper_url=whisper_url
        )

    try:
        config = resolve_call_config(
            context.assistant,
            context.prompt_variables,
            user_inactivity_secs=settings.user_inactivity_timeout_secs,
        )
        options = AudioOptions.from_assistant(config.assistant, recording_path=path)
        audio = twilio_call_audio(options, settings)
        engine |= audio.engines
        transport = TwilioCallTransport(
            websocket, start, audio, on_hangup=hang_up, on_transfer=transfer
        )
        session = CallSession(
            config,
            transport,
            settings=settings,
            audio=audio.pipeline_legs(),
            callee_number=context.to_number,
            from_number=context.from_number,
        )
        transport.on_caller_hangup(session.user_hung_up)
        watcher = asyncio.create_task(
            _watch_for_machine(db, attempt_id, session, settings.twilio_poll_interval_secs)
        )
        try:
            result = await session.run()
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    except Exception as exc:  # speech not configured, a bad snapshot: end in error
        log.exception("the media session of attempt %s failed", attempt_id)
        await attempt_records.store_media_records(
            db,
            attempt_id,
            ended_by="system",
            end_reason=None,
            transcript=[],
            speech_events=[],
            engine={**engine, "error": type(exc).__name__},
            recording_url=None,
        )
        await hang_up()
        return
    finally:
        if telephony is not None:
            await telephony.aclose()
    recorded = path.exists()
    if recorded:
        engine["recording_path"] = str(path)
    if result.error:
        engine["error"] = result.error
    await attempt_records.store_media_records(
        db,
        attempt_id,
        ended_by=result.ended_by,
        end_reason=result.wire_end_reason,
        transcript=[item.as_wire() for item in result.transcript],
        speech_events=[event.as_wire() for event in result.speech_events],
        engine=engine,
        recording_url=recording_url(settings, attempt_id) if recorded else None,
        sms_log=in_call_sms_log(result.sms, sent_at=utcnow()),
        faq_questions=[f.question for f in result.faq_candidates],
    )


async def _watch_for_machine(
    db: Database, attempt_id: str, session: CallSession, interval: float
) -> None:
    """Hand answering-machine detection's verdict to the session when it has a message
    to leave (without one, the dialling worker hangs up on the verdict). The verdict
    comes on the status callback, maybe to another process: through the attempt row."""
    if not session.config.voicemail_message:
        return
    deadline = asyncio.get_running_loop().time() + AMD_VERDICT_WAIT_SECS
    while not session.ended and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(interval)
        view = await attempt_records.read_attempt(db, attempt_id)
        if view is not None and view.result == "voicemail":
            await session.machine_answered(view.answered_by or "machine")
            return


def _can_dial(settings: Settings) -> bool:
    return twilio_configured(settings) and bool(settings.public_base_url)


def include(app: FastAPI) -> None:
    """Add the status callback and the media stream to the app."""
    app.include_router(status_router())
    app.include_router(twilio_media_router(run_media_session))
