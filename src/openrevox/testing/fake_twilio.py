"""A local fake of Twilio's Programmable Voice REST API, for tests.

Real HTTP on loopback (uvicorn in a thread). It answers ``POST .../Calls.json``
(checking basic auth and the ``<Connect><Stream>`` TwiML) and ``POST
.../Calls/{sid}.json`` (hang-up), records every request, and then plays the scenario
chosen for the number dialled, like Twilio would: it POSTs signed status callbacks to
the ``StatusCallback`` URL (initiated, ringing, then busy / no-answer / failed, or
in-progress, an asynchronous answering-machine verdict, completed) and, for an answered
call, runs a media script against the TwiML's stream URL::

    with FakeTwilio(account_sid="AC...", auth_token="secret") as twilio:
        twilio.on("+12025550102", Busy())
        twilio.on("+12025550100", Answered("human", media=my_conversation))
        settings = Settings(twilio_api_base_url=twilio.base_url, ...)

A media script is ``async def script(call: FakeCall) -> None``: it connects to
``call.stream_url`` (``ws://`` on loopback) with ``call.parameters`` as the stream's
custom parameters, talks, and returns when the call is over — it should leave when
``call.hung_up`` is set (our server hung up through the REST API). The script runs on
the fake's own event loop. :func:`silent_media` is one that holds the line in silence.

Messaging: ``POST .../Messages.json`` (basic auth; ``To``, ``From`` or
``MessagingServiceSid``, ``Body``) answers ``201`` with a message resource and records
it in ``messages``. ``on_message(number, RestError(...))`` makes messages to ``number``
fail; ``fail_messages(RestError(...), ...)`` makes the next messages fail, in order::

    twilio.fail_messages(RestError(status=503, code=20500, message="down"))
    twilio.on_message("+15005550001", RestError(code=21211, message="Invalid 'To'"))
    ...
    assert twilio.messages[0].body == "Thanks for your time!"
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
import websockets
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from openrevox.providers.telephony.twilio_protocol import request_signature

__all__ = [
    "Answered",
    "Busy",
    "Failed",
    "FakeCall",
    "FakeMessage",
    "FakeTwilio",
    "NoAnswer",
    "RestError",
    "silent_media",
]

MediaScript = Callable[["FakeCall"], Awaitable[None]]


@dataclass(frozen=True)
class Busy:
    ring_secs: float = 0.05


@dataclass(frozen=True)
class NoAnswer:
    ring_secs: float = 0.2


@dataclass(frozen=True)
class Failed:
    """The call fails with Twilio's ``ErrorCode`` and/or a ``SipResponseCode``."""

    error_code: int | None = None
    sip_code: int | None = None
    ring_secs: float = 0.05


@dataclass(frozen=True)
class RestError:
    """``Calls.json`` itself answers an error (no call is created)."""

    status: int = 400
    code: int = 21211
    message: str = "The 'To' number is not a valid phone number."


@dataclass(frozen=True)
class Answered:
    """Answered; ``answered_by`` is the asynchronous AMD verdict (None: none sent)."""

    answered_by: str | None = "human"
    media: MediaScript | None = None  # default: silent_media
    ring_secs: float = 0.05
    amd_delay_secs: float = 0.5
    max_secs: float = 60.0


Scenario = Busy | NoAnswer | Failed | RestError | Answered


@dataclass
class FakeCall:
    """One call created through the fake, and what happened on it."""

    sid: str
    form: dict[str, list[str]]
    scenario: Scenario
    stream_url: str
    parameters: dict[str, str]
    hung_up: asyncio.Event
    hangups: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)  # TwiML given to the live call
    callbacks: list[tuple[dict[str, str], int]] = field(default_factory=list)
    media_error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def value(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None

    @property
    def to(self) -> str:
        return self.value("To") or ""


@dataclass(frozen=True)
class FakeMessage:
    """One text message accepted by the fake's Messaging API."""

    sid: str
    to: str
    from_: str
    body: str
    form: dict[str, list[str]]


class FakeTwilio:
    """Twilio's REST API and its callbacks, on loopback."""

    def __init__(
        self,
        account_sid: str = "AC00000000000000000000000000000042",
        auth_token: str = "fake-twilio-auth-token",
        *,
        default: Scenario | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.default: Scenario = default or Answered()
        self.scenarios: dict[str, Scenario] = {}
        self.calls: list[FakeCall] = []
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []  # method, path, form
        self.rejected: list[str] = []  # why requests were refused
        self.messages: list[FakeMessage] = []  # accepted text messages, in order
        self.message_scenarios: dict[str, RestError] = {}
        self.message_failures: list[RestError] = []
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def on(self, number: str, scenario: Scenario) -> None:
        """What happens when ``number`` is dialled."""
        self.scenarios[number] = scenario

    def on_message(self, number: str, error: RestError) -> None:
        """Messages to ``number`` are refused with ``error``."""
        self.message_scenarios[number] = error

    def fail_messages(self, *errors: RestError) -> None:
        """The next messages (to any number) are refused with these errors, in order."""
        self.message_failures.extend(errors)

    def call_to(self, number: str) -> FakeCall:
        return next(c for c in reversed(self.calls) if c.to == number)

    # ---- lifecycle ----

    def __enter__(self) -> FakeTwilio:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        self._server = uvicorn.Server(
            uvicorn.Config(self._app(), host="127.0.0.1", port=port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, name="fake-twilio", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Twilio did not start")
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    # ---- the REST API ----

    def _app(self) -> FastAPI:
        app = FastAPI()
        prefix = "/2010-04-01/Accounts/{account}"

        @app.post(prefix + "/Calls.json")
        async def create_call(account: str, request: Request) -> JSONResponse:
            self._loop = asyncio.get_running_loop()
            form = await self._form(request)
            self.requests.append(("POST", request.url.path, form))
            refused = self._refuse(account, request)
            if refused is not None:
                return refused
            problem = _check_dial(form)
            if problem is not None:
                self.rejected.append(problem)
                return _error(400, 21205, problem)
            to = form["To"][0]
            scenario = self.scenarios.get(to, self.default)
            if isinstance(scenario, RestError):
                return _error(scenario.status, scenario.code, scenario.message)
            stream_url, parameters = _parse_twiml(form["Twiml"][0])
            call = FakeCall(
                sid="CA" + uuid.uuid4().hex,
                form=form,
                scenario=scenario,
                stream_url=stream_url,
                parameters=parameters,
                hung_up=asyncio.Event(),
            )
            self.calls.append(call)
            task = asyncio.create_task(self._drive(call))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return JSONResponse(
                {
                    "sid": call.sid,
                    "account_sid": self.account_sid,
                    "to": to,
                    "from": form["From"][0],
                    "status": "queued",
                    "api_version": "2010-04-01",
                },
                status_code=201,
            )

        @app.post(prefix + "/Calls/{sid}.json")
        async def update_call(account: str, sid: str, request: Request) -> JSONResponse:
            form = await self._form(request)
            self.requests.append(("POST", request.url.path, form))
            refused = self._refuse(account, request)
            if refused is not None:
                return refused
            call = next((c for c in self.calls if c.sid == sid), None)
            if call is None:
                return _error(
                    404, 20404, f"The requested resource {request.url.path} was not found"
                )
            twiml = (form.get("Twiml") or [""])[0]
            if twiml:  # new instructions: the <Connect><Stream> ends, Twilio follows them
                call.redirects.append(twiml)
                call.hung_up.set()
                return JSONResponse({"sid": sid, "status": "in-progress"})
            status = (form.get("Status") or [""])[0]
            if status not in ("completed", "canceled"):
                return _error(400, 21220, "Invalid call state")
            call.hangups.append(status)
            call.hung_up.set()
            return JSONResponse({"sid": sid, "status": status})

        @app.post(prefix + "/Messages.json")
        async def create_message(account: str, request: Request) -> JSONResponse:
            form = await self._form(request)
            self.requests.append(("POST", request.url.path, form))
            refused = self._refuse(account, request)
            if refused is not None:
                return refused
            to = (form.get("To") or [""])[0]
            sender = (form.get("From") or form.get("MessagingServiceSid") or [""])[0]
            body = (form.get("Body") or [""])[0]
            if not to:
                return _error(400, 21604, "A 'To' phone number is required.")
            if not sender:
                return _error(400, 21603, "A 'From' phone number is required.")
            if not body:
                return _error(400, 21602, "Message body is required.")
            failure = self.message_failures.pop(0) if self.message_failures else None
            failure = failure or self.message_scenarios.get(to)
            if failure is not None:
                return _error(failure.status, failure.code, failure.message)
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
                    "uri": f"{request.url.path[: -len('.json')]}/{message.sid}.json",
                },
                status_code=201,
            )

        return app

    @staticmethod
    async def _form(request: Request) -> dict[str, list[str]]:
        form: dict[str, list[str]] = {}
        for name, value in parse_qsl((await request.body()).decode(), keep_blank_values=True):
            form.setdefault(name, []).append(value)
        return form

    def _refuse(self, account: str, request: Request) -> JSONResponse | None:
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        if request.headers.get("authorization") != expected or account != self.account_sid:
            self.rejected.append("authentication")
            return _error(401, 20003, "Authenticate")
        return None

    # ---- playing a scenario ----

    async def _drive(self, call: FakeCall) -> None:
        scenario = call.scenario
        try:
            await self._callback(call, "initiated")
            if await _wait(call.hung_up, 0.05):
                await self._callback(call, "canceled")
                return
            await self._callback(call, "ringing")
            ring_secs = 0.0 if isinstance(scenario, RestError) else scenario.ring_secs
            if await _wait(call.hung_up, ring_secs):
                await self._callback(call, "canceled")
                return
            if isinstance(scenario, Busy):
                await self._callback(call, "busy")
            elif isinstance(scenario, NoAnswer):
                await self._callback(call, "no-answer")
            elif isinstance(scenario, Failed):
                extra: dict[str, str] = {}
                if scenario.error_code is not None:
                    extra["ErrorCode"] = str(scenario.error_code)
                if scenario.sip_code is not None:
                    extra["SipResponseCode"] = str(scenario.sip_code)
                await self._callback(call, "failed", extra)
            elif isinstance(scenario, Answered):
                await self._answered(call, scenario)
        finally:
            call.done.set()

    async def _answered(self, call: FakeCall, scenario: Answered) -> None:
        answered_at = time.monotonic()
        await self._callback(call, "in-progress")
        media = asyncio.create_task(self._media(call, scenario.media or silent_media))
        if scenario.answered_by is not None and call.value("MachineDetection"):
            await asyncio.sleep(scenario.amd_delay_secs)
            amd = {
                "CallSid": call.sid,
                "AccountSid": self.account_sid,
                "AnsweredBy": scenario.answered_by,
                "MachineDetectionDuration": str(int(scenario.amd_delay_secs * 1000)),
            }
            url = call.value("AsyncAmdStatusCallback") or call.value("StatusCallback")
            if url:
                await self._post(call, url, amd)
        hung_up = asyncio.create_task(call.hung_up.wait())
        await asyncio.wait(
            {media, hung_up}, timeout=scenario.max_secs, return_when="FIRST_COMPLETED"
        )
        call.hung_up.set()  # the call is over: a script still talking must leave
        try:
            await asyncio.wait_for(media, 15)
        except (TimeoutError, Exception) as exc:
            call.media_error = call.media_error or repr(exc)
        hung_up.cancel()
        duration = str(int(time.monotonic() - answered_at))
        await self._callback(call, "completed", {"CallDuration": duration})

    async def _media(self, call: FakeCall, script: MediaScript) -> None:
        try:
            await script(call)
        except Exception as exc:
            call.media_error = repr(exc)

    async def _callback(
        self, call: FakeCall, status: str, extra: dict[str, str] | None = None
    ) -> None:
        url = call.value("StatusCallback")
        if not url:
            return
        params = {
            "CallSid": call.sid,
            "AccountSid": self.account_sid,
            "From": call.value("From") or "",
            "To": call.to,
            "CallStatus": status,
            "Direction": "outbound-api",
            "ApiVersion": "2010-04-01",
            "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            **(extra or {}),
        }
        await self._post(call, url, params)

    async def _post(self, call: FakeCall, url: str, params: dict[str, str]) -> None:
        signature = request_signature(self.auth_token, url, params.items())
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(
                    url, data=params, headers={"X-Twilio-Signature": signature}
                )
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        call.callbacks.append((params, status))


async def silent_media(call: FakeCall) -> None:
    """Open the stream and send silence (20 ms mu-law frames) until the call is over."""
    stream_sid = "MZ" + uuid.uuid4().hex
    async with websockets.connect(call.stream_url, max_size=None) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(
            json.dumps(
                {
                    "event": "start",
                    "sequenceNumber": "1",
                    "streamSid": stream_sid,
                    "start": {
                        "streamSid": stream_sid,
                        "accountSid": call.value("AccountSid") or "",
                        "callSid": call.sid,
                        "tracks": ["inbound"],
                        "customParameters": call.parameters,
                        "mediaFormat": {
                            "encoding": "audio/x-mulaw",
                            "sampleRate": 8000,
                            "channels": 1,
                        },
                    },
                }
            )
        )
        silence = base64.b64encode(b"\xff" * 160).decode()
        sequence = 2

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.create_task(drain())
        try:
            while not call.hung_up.is_set() and not reader.done():
                media = {"track": "inbound", "payload": silence, "chunk": str(sequence)}
                message = {"event": "media", "streamSid": stream_sid, "media": media}
                await ws.send(json.dumps(message))
                sequence += 1
                await asyncio.sleep(0.02)
            if not reader.done():
                await ws.send(json.dumps({"event": "stop", "streamSid": stream_sid, "stop": {}}))
        except websockets.ConnectionClosed:
            pass
        finally:
            reader.cancel()


async def _wait(event: asyncio.Event, secs: float) -> bool:
    """Wait ``secs``; True if ``event`` was set meanwhile."""
    try:
        await asyncio.wait_for(event.wait(), secs)
    except TimeoutError:
        return False
    return True


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


def _check_dial(form: dict[str, list[str]]) -> str | None:
    for name in ("To", "From", "Twiml", "StatusCallback"):
        if not form.get(name):
            return f"missing {name}"
    try:
        _parse_twiml(form["Twiml"][0])
    except ValueError as exc:
        return f"invalid TwiML: {exc}"
    events = set(form.get("StatusCallbackEvent", []))
    if not {"initiated", "ringing", "answered", "completed"} <= events:
        return f"StatusCallbackEvent lacks events: {sorted(events)}"
    return None


def _parse_twiml(twiml: str) -> tuple[str, dict[str, str]]:
    """``<Response><Connect><Stream url=...><Parameter .../>`` → (url, parameters)."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from None
    stream = root.find("./Connect/Stream")
    if root.tag != "Response" or stream is None or not stream.get("url"):
        raise ValueError("expected <Response><Connect><Stream url=...>")
    url = stream.get("url") or ""
    if not url.startswith(("wss://", "ws://")):
        raise ValueError("the stream URL must be wss:// (ws:// on loopback)")
    parameters = {p.get("name") or "": p.get("value") or "" for p in stream.findall("./Parameter")}
    return url, parameters


@contextmanager
def fake_twilio(**kwargs: Any) -> Iterator[FakeTwilio]:
    with FakeTwilio(**kwargs) as twilio:
        yield twilio
