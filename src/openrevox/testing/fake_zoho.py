"""A local fake of Zoho's OAuth token endpoint and CRM v2 REST API, for tests.

Real HTTP on loopback (a threaded server) serving both the accounts server and the API
domain, so one ``base_url`` is both ``accounts_url`` and ``api_domain``::

    with FakeZoho() as zoho:
        connection = zoho.connection()  # a ZohoConnection with the fake's credentials
        ...
        assert zoho.records["Leads"][record_id]["Phone"] == "+14155550100"

It answers:

- ``POST /oauth/v2/token?grant_type=refresh_token&client_id&client_secret&refresh_token``
  with ``{"access_token", "api_domain", "token_type", "expires_in"}``, or HTTP 200 with
  ``{"error": "invalid_client"}`` (client id or secret) / ``{"error": "invalid_code"}``
  (refresh token), like Zoho; ``token_error = "..."`` forces an error.
- ``POST /crm/v2/{module}/upsert`` (``duplicate_check_fields``; Leads and Contacts need
  ``Last_Name``), ``POST /crm/v2/{module}/{id}/Notes`` and ``POST /crm/v2/Calls``, with
  ``Authorization: Zoho-oauthtoken <token>``; an unknown or expired token is ``401
  INVALID_TOKEN``. ``expire_tokens()`` expires every token issued so far.

``fail_next(ZohoFailure(500))`` makes the next CRM requests fail, in order;
``fail_on("/Calls", ZohoFailure(502))`` the next ones whose path ends so;
``token_requests`` and ``requests`` record what was asked.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import SecretStr

from openrevox.config import ZohoConnection
from openrevox.testing.loopback import LoopbackServer

__all__ = ["FakeZoho", "ZohoFailure", "ZohoRequest"]

MANDATORY = {"Leads": ("Last_Name",), "Contacts": ("Last_Name",)}
CALL_MANDATORY = ("Subject", "Call_Type", "Call_Start_Time", "Call_Duration")


@dataclass(frozen=True)
class ZohoFailure:
    """An error answer: ``status`` with Zoho's ``{"code", "details", "message",
    "status": "error"}`` document (or ``raw`` text as the body)."""

    status: int = 500
    code: str = "INTERNAL_ERROR"
    message: str = "Internal Server Error"
    raw: str | None = None


@dataclass(frozen=True)
class ZohoRequest:
    """One request received: method, path, query, headers (lower-case names), JSON body."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        prefix = "Zoho-oauthtoken "
        return auth[len(prefix) :] if auth.startswith(prefix) else None


class FakeZoho(LoopbackServer):
    """Zoho accounts + CRM on ``127.0.0.1``; a (sync) context manager."""

    def __init__(
        self,
        client_id: str = "1000.FAKECLIENTID",
        client_secret: str = "fake-client-secret",
        refresh_token: str = "1000.fake-refresh-token",
        *,
        expires_in: int = 3600,
        modules: Iterable[str] = ("Leads", "Contacts", "Accounts", "Deals"),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.expires_in = expires_in
        self.modules = set(modules)
        self.token_error: str | None = None
        self.token_requests: list[ZohoRequest] = []
        self.requests: list[ZohoRequest] = []  # CRM requests
        self.records: dict[str, dict[str, dict[str, Any]]] = {m: {} for m in self.modules}
        self.notes: list[dict[str, Any]] = []  # with $se_module and Parent_Id
        self.calls: list[dict[str, Any]] = []
        self.issued: list[str] = []
        self.failures: list[ZohoFailure] = []
        self.path_failures: dict[str, list[ZohoFailure]] = {}
        self._valid: set[str] = set()
        self._ids = itertools.count(4_150_868_000_000_001_001)
        self._lock = threading.Lock()

    # ---- helpers for tests ----

    def connection(self, **overrides: Any) -> ZohoConnection:
        """A ``ZohoConnection`` pointing at the fake, with its credentials."""
        values: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": SecretStr(self.client_secret),
            "refresh_token": SecretStr(self.refresh_token),
            "accounts_url": self.base_url,
            "api_domain": self.base_url,
        }
        values.update(overrides)
        return ZohoConnection(**values)

    def expire_tokens(self) -> None:
        """Every access token issued so far is now invalid (``401 INVALID_TOKEN``)."""
        with self._lock:
            self._valid.clear()

    def fail_next(self, *failures: ZohoFailure) -> None:
        """The next CRM requests get these answers, in order."""
        with self._lock:
            self.failures.extend(failures)

    def fail_on(self, path_suffix: str, *failures: ZohoFailure) -> None:
        """The next CRM requests whose path ends with ``path_suffix`` get these answers."""
        with self._lock:
            self.path_failures.setdefault(path_suffix, []).extend(failures)

    def record_by_phone(self, module: str, phone: str) -> dict[str, Any] | None:
        for record in self.records.get(module, {}).values():
            if record.get("Phone") == phone:
                return record
        return None

    # ---- lifecycle ----

    @property
    def base_url(self) -> str:
        return self.origin

    server_name = "fake Zoho"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    # ---- accounts ----

    def _token(self, request: ZohoRequest) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests.append(request)
            params = {**request.query, **{k: str(v) for k, v in request.body.items()}}
            if self.token_error is not None:
                return 200, {"error": self.token_error}
            if params.get("grant_type") != "refresh_token":
                return 200, {"error": "unsupported_grant_type"}
            if params.get("client_id") != self.client_id:
                return 200, {"error": "invalid_client"}
            if params.get("client_secret") != self.client_secret:
                return 200, {"error": "invalid_client"}
            if params.get("refresh_token") != self.refresh_token:
                return 200, {"error": "invalid_code"}
            token = f"1000.fake-access-{len(self.issued) + 1:04d}"
            self.issued.append(token)
            self._valid.add(token)
            return 200, {
                "access_token": token,
                "api_domain": self.base_url,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            }

    # ---- CRM ----

    def _crm(self, request: ZohoRequest) -> tuple[int, dict[str, Any] | str]:
        with self._lock:
            self.requests.append(request)
            failure = self.failures.pop(0) if self.failures else None
            for suffix, queue in self.path_failures.items():
                if failure is None and queue and request.path.endswith(suffix):
                    failure = queue.pop(0)
            if failure is not None:
                if failure.raw is not None:
                    return failure.status, failure.raw
                return failure.status, _error(failure.code, failure.message)
            if request.token is None:
                return 401, _error("AUTHENTICATION_FAILURE", "Authentication failed")
            if request.token not in self._valid:
                return 401, _error("INVALID_TOKEN", "invalid oauth token")
            parts = request.path.strip("/").split("/")[2:]  # after crm/v2
            data = request.body.get("data")
            if not isinstance(data, list) or not data or not isinstance(data[0], dict):
                return 400, _error("INVALID_DATA", "the data is not a non-empty list")
            if parts == ["Calls"]:
                return self._call(data[0])
            if len(parts) == 2 and parts[1] == "upsert":
                return self._upsert(parts[0], data[0], request.body)
            if len(parts) == 3 and parts[2] == "Notes":
                return self._note(parts[0], parts[1], data[0])
            return 404, _error("INVALID_URL_PATTERN", "Please check if the URL trying to access")

    def _upsert(
        self, module: str, record: dict[str, Any], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if module not in self.modules:
            return 400, _error("INVALID_MODULE", "the module name given seems to be invalid")
        keys = body.get("duplicate_check_fields") or []
        existing = None
        for candidate in self.records[module].values():
            if keys and all(candidate.get(k) == record.get(k) for k in keys):
                existing = candidate
                break
        if existing is None:
            for name in MANDATORY.get(module, ()):
                if not record.get(name):
                    return 400, _result_error(
                        "MANDATORY_NOT_FOUND", "required field not found", name
                    )
            ident = str(next(self._ids))
            self.records[module][ident] = {"id": ident, **record}
            return 201, _success(ident, "record added", action="insert")
        existing.update(record)
        return 200, _success(str(existing["id"]), "record updated", action="update")

    def _note(self, module: str, parent: str, note: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if module not in self.modules:
            return 400, _error("INVALID_MODULE", "the module name given seems to be invalid")
        if parent not in self.records[module]:
            return 400, _result_error(
                "INVALID_DATA", "the related id given seems to be invalid", "Parent_Id"
            )
        if not note.get("Note_Content"):
            return 400, _result_error(
                "MANDATORY_NOT_FOUND", "required field not found", "Note_Content"
            )
        ident = str(next(self._ids))
        self.notes.append({"id": ident, "$se_module": module, "Parent_Id": parent, **note})
        return 201, _success(ident, "record added")

    def _call(self, entry: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        for name in CALL_MANDATORY:
            if not entry.get(name):
                return 400, _result_error("MANDATORY_NOT_FOUND", "required field not found", name)
        ident = str(next(self._ids))
        self.calls.append({"id": ident, **entry})
        return 201, _success(ident, "record added")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "details": {}, "message": message, "status": "error"}


def _result_error(code: str, message: str, api_name: str) -> dict[str, Any]:
    return {
        "data": [
            {"code": code, "details": {"api_name": api_name}, "message": message, "status": "error"}
        ]
    }


def _success(ident: str, message: str, *, action: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "code": "SUCCESS",
        "details": {
            "id": ident,
            "Modified_Time": "2026-01-01T00:00:00+00:00",
            "Created_Time": "2026-01-01T00:00:00+00:00",
        },
        "message": message,
        "status": "success",
    }
    if action is not None:
        result["action"] = action
        result["duplicate_field"] = "Phone" if action == "update" else None
    return {"data": [result]}


def _make_handler(fake: FakeZoho) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            if headers.get("content-type", "").startswith("application/json"):
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, _error("INVALID_DATA", "body is not valid JSON"))
                    return
            else:
                body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            request = ZohoRequest("POST", url.path, query, headers, body)
            if url.path == "/oauth/v2/token":
                self._send(*fake._token(request))
            elif url.path.startswith("/crm/v2/"):
                self._send(*fake._crm(request))
            else:
                self._send(404, _error("INVALID_URL_PATTERN", f"no route {url.path}"))

        def _send(self, status: int, payload: dict[str, Any] | str) -> None:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            self.send_response(status)
            ctype = "text/html" if isinstance(payload, str) else "application/json;charset=UTF-8"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return _Handler
