"""The fake Twilio's Messaging API: ``POST .../Messages.json``, for tests.

``POST .../Messages.json`` (basic auth; ``To``, ``From`` or ``MessagingServiceSid``,
``Body``) answers ``201`` with a message resource and records it in ``messages``.
``on_message(number, RestError(...))`` makes messages to ``number`` fail;
``fail_messages(RestError(...), ...)`` makes the next messages fail, in order::

    twilio.fail_messages(RestError(status=503, code=20500, message="down"))
    twilio.on_message("+15005550001", RestError(code=21211, message="Invalid 'To'"))
    ...
    assert twilio.messages[0].body == "Thanks for your time!"
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi.responses import JSONResponse

from openrevox.testing.fake_twilio_errors import RestError, error_response


@dataclass(frozen=True)
class FakeMessage:
    """One text message accepted by the fake's Messaging API."""

    sid: str
    to: str
    from_: str
    body: str
    form: dict[str, list[str]]


class FakeMessaging:
    """Mixin of ``FakeTwilio``: the messages it accepted, and those it is told to refuse."""

    account_sid: str

    def __init__(self) -> None:
        self.messages: list[FakeMessage] = []  # accepted text messages, in order
        self.message_scenarios: dict[str, RestError] = {}
        self.message_failures: list[RestError] = []

    def on_message(self, number: str, error: RestError) -> None:
        """Messages to ``number`` are refused with ``error``."""
        self.message_scenarios[number] = error

    def fail_messages(self, *errors: RestError) -> None:
        """The next messages (to any number) are refused with these errors, in order."""
        self.message_failures.extend(errors)

    def _create_message(self, form: dict[str, list[str]], path: str) -> JSONResponse:
        """Answer an authenticated ``POST`` to ``path`` (``.../Messages.json``)."""
        to = (form.get("To") or [""])[0]
        sender = (form.get("From") or form.get("MessagingServiceSid") or [""])[0]
        body = (form.get("Body") or [""])[0]
        if not to:
            return error_response(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return error_response(400, 21603, "A 'From' phone number is required.")
        if not body:
            return error_response(400, 21602, "Message body is required.")
        failure = self.message_failures.pop(0) if self.message_failures else None
        failure = failure or self.message_scenarios.get(to)
        if failure is not None:
            return error_response(failure.status, failure.code, failure.message)
        message = FakeMessage(
            sid="SM" + uuid.uuid4().hex, to=to, from_=sender, body=body, form=form
        )
        self.messages.append(message)
        return JSONResponse(
            {
                "sid": message.sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": sender,
                "body": body,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "error_code": None,
                "error_message": None,
                "uri": f"{path[: -len('.json')]}/{message.sid}.json",
            },
            status_code=201,
        )
