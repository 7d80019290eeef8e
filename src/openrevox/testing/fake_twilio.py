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

Media scripts (the callee's side of the stream, :func:`silent_media` by default) are
``fake_twilio_media``; the Messaging API (``POST .../Messages.json``) is
``fake_twilio_messaging``; both are re-exported here.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from openrevox.providers.telephony.twilio_protocol import request_signature
from openrevox.testing.fake_twilio_errors import RestError, error_response
from openrevox.testing.fake_twilio_media import MediaScript, silent_media
from openrevox.testing.fake_twilio_messaging import FakeMessage, FakeMessaging

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


class FakeTwilio(FakeMessaging):
    """Twilio's REST API and its callbacks, on loopback."""

    def __init__(
        self,
        account_sid: str = "AC00000000000000000000000000000042",
        auth_token: str = "fake-twilio-auth-token",
        *,
        default: Scenario | None = None,
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.default: Scenario = default or Answered()
        self.scenarios: dict[str, Scenario] = {}
        self.calls: list[FakeCall] = []
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []  # method, path, form
        self.rejected: list[str] = []  # why requests were refused
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def on(self, number: str, scenario: Scenario) -> None:
        """What happens when ``number`` is dialled."""
        self.scenarios[number] = scenario

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
                return error_response(400, 21205, problem)
            to = form["To"][0]
            scenario = self.scenarios.get(to, self.default)
            if isinstance(scenario, RestError):
                return error_response(scenario.status, scenario.code, scenario.message)
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
                return error_response(
                    404, 20404, f"The requested resource {request.url.path} was not found"
                )
            twiml = (form.get("Twiml") or [""])[0]
            if twiml:  # new instructions: the <Connect><Stream> ends, Twilio follows them
                call.redirects.append(twiml)
                call.hung_up.set()
                return JSONResponse({"sid": sid, "status": "in-progress"})
            status = (form.get("Status") or [""])[0]
            if status not in ("completed", "canceled"):
                return error_response(400, 21220, "Invalid call state")
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
            return self._create_message(form, request.url.path)

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
            return error_response(401, 20003, "Authenticate")
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


async def _wait(event: asyncio.Event, secs: float) -> bool:
    """Wait ``secs``; True if ``event`` was set meanwhile."""
    try:
        await asyncio.wait_for(event.wait(), secs)
    except TimeoutError:
        return False
    return True


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
