"""Inbound calls through Twilio (docs/phone_numbers.md).

- ``POST /twilio/voice`` (signed with ``X-Twilio-Signature``; 403 otherwise): the voice
  webhook of our Twilio numbers. A number an organization routes to an assistant gets
  ``<Connect><Stream>`` to ``/twilio/inbound-stream`` (the precall lookup done first);
  anything else gets ``<Reject/>`` — never an error page, which Twilio would read out
  as "an application error has occurred".
- ``/twilio/inbound-stream`` (WebSocket): the media session of ``api.twilio_webhooks``
  (token checked, the runtime talks, records stored), then the call is concluded: the
  order goes to ``post_processing`` with its after-call job, as an outbound one.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import Response

from openrevox.api.errors import error_body
from openrevox.api.responses import WireJSON
from openrevox.api.twilio_webhooks import run_media_session, signed_form
from openrevox.config import Settings
from openrevox.providers.telephony.base import TelephonyError
from openrevox.providers.telephony.twilio import media_secret
from openrevox.providers.telephony.twilio_protocol import (
    media_token,
    media_token_valid,
    stream_twiml,
    websocket_url,
)
from openrevox.runtime.transports.twilio import TwilioStreamStart, twilio_media_router
from openrevox.services import inbound
from openrevox.storage.database import Database

log = logging.getLogger(__name__)

VOICE_PATH = "/twilio/voice"
INBOUND_STREAM_PATH = "/twilio/inbound-stream"
REJECT_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Reject/></Response>'


def _twiml(text: str) -> Response:
    return Response(text, media_type="text/xml")


def voice_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post(VOICE_PATH)
    async def twilio_voice(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        db: Database = request.app.state.db
        params = await signed_form(request, settings)
        if isinstance(params, WireJSON):
            return params
        form = dict(params)
        if settings.twilio_account_sid and form.get("AccountSid") not in (
            None,
            settings.twilio_account_sid,
        ):
            return WireJSON(
                error_body("forbidden", "the call is for another Twilio account"),
                status_code=403,
            )
        try:
            secret = media_secret(settings)
        except TelephonyError:  # signed_form already needs the auth token: unreachable
            return _twiml(REJECT_TWIML)
        answer = await inbound.answer_call(
            db,
            settings,
            to_number=form.get("To", ""),
            from_number=form.get("From", ""),
            provider="twilio",
            provider_call_id=form.get("CallSid"),
        )
        if answer.kind != "accepted" or answer.attempt_id is None:
            log.info("inbound call %s refused: %s", form.get("CallSid"), answer.reason)
            return _twiml(REJECT_TWIML)
        base = settings.public_base_url or str(request.base_url)
        parameters = {
            "attempt_id": answer.attempt_id,
            "token": media_token(secret, answer.attempt_id),
        }
        return _twiml(stream_twiml(websocket_url(base, INBOUND_STREAM_PATH), parameters))

    return router


async def run_inbound_media_session(websocket: WebSocket, start: TwilioStreamStart) -> None:
    """The outbound media session, then the inbound order's conclusion."""
    await run_media_session(websocket, start)
    app: FastAPI = websocket.app
    settings: Settings = app.state.settings
    attempt_id = start.custom_parameters.get("attempt_id", "")
    try:
        secret = media_secret(settings)
    except TelephonyError:
        return
    if not media_token_valid(secret, attempt_id, start.custom_parameters.get("token")):
        return  # refused by the session: nothing of ours
    if await inbound.conclude_call(app.state.db, attempt_id):
        runner = getattr(app.state, "job_runner", None)
        if runner is not None:
            runner.wake()


def include(app: FastAPI) -> None:
    """Add the voice webhook and the inbound media stream to the app."""
    app.include_router(voice_router())
    app.include_router(twilio_media_router(run_inbound_media_session, path=INBOUND_STREAM_PATH))
