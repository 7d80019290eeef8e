"""Zoho CRM: upsert the prospect keyed on phone, attach a note, optionally log the call.

One connection (``zoho_connections`` in the settings) is an OAuth client with a refresh
token. An access token is got from ``{accounts_url}/oauth/v2/token`` and kept, per
connection, until a minute before it expires (Zoho limits how often a refresh token may
be used); a ``401 INVALID_TOKEN`` drops it and the request is made once more with a
fresh one. Then, on ``{api_domain}/crm/v2``:

1. ``POST /{module}/upsert`` with ``duplicate_check_fields: ["Phone"]``: the record has
   ``Phone``, the contact's names, email and title (Leads and Contacts; ``Company`` on
   Leads), then the ``field_mapping`` (each ``source`` read from the structured output,
   falling back to the prompt variable of that name; absent values are not sent).
2. ``POST /{module}/{id}/Notes``: the ``template`` filled with the call's variables, or a
   default note (outcome, summary, the extracted fields).
3. With ``log_call_activity``: ``POST /Calls``, related to the record (``Who_Id`` for a
   contact, ``What_Id`` with ``$se_module`` for any other module).

A retry after a partial success passes the failed try's ``details`` as ``resume``: the
note and the call log already made are not made twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from openrevox.config import ZohoConnection
from openrevox.domain.outcomes import outcome_matches
from openrevox.notifications.base import DeliveryError, DeliveryTry
from openrevox.notifications.variables import (
    as_text,
    contact_fields,
    contact_name,
    fill,
    latest_attempt,
    prospect_phone,
    structured_output,
)

API_PATH = "/crm/v2"
PERSON_MODULES = frozenset({"Leads", "Contacts"})
# Token endpoint errors trying again cannot fix: the client or the refresh token is wrong.
AUTH_ERRORS = frozenset(
    {
        "invalid_client",
        "invalid_client_secret",
        "invalid_code",
        "invalid_grant",
        "unauthorized_client",
        "invalid_redirect_uri",
    }
)
# CRM API error codes of a request that is wrong as sent (retrying sends it again).
LASTING_CODES = frozenset(
    {
        "INVALID_DATA",
        "MANDATORY_NOT_FOUND",
        "INVALID_MODULE",
        "DUPLICATE_DATA",
        "OAUTH_SCOPE_MISMATCH",
        "NO_PERMISSION",
        "AUTHENTICATION_FAILURE",
        "INVALID_URL_PATTERN",
        "REQUIRED_PARAM_MISSING",
        "LIMIT_EXCEEDED",
        "FEATURE_NOT_SUPPORTED",
        "NOT_SUPPORTED",
    }
)
DEFAULT_NOTE_TITLE = "Call with {{assistant_name}}: {{outcome}}"


@dataclass
class _Token:
    value: str
    expires_at: float


class ZohoTokens:
    """Access tokens by connection, kept until ``margin_secs`` before they expire."""

    def __init__(
        self, *, margin_secs: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._tokens: dict[tuple[str, str, str], _Token] = {}
        self._margin = margin_secs
        self._clock = clock
        self.refreshes = 0  # tokens got from Zoho (for tests and logs)

    @staticmethod
    def _key(connection: ZohoConnection) -> tuple[str, str, str]:
        return (
            connection.accounts_url.rstrip("/"),
            connection.client_id,
            connection.refresh_token.get_secret_value(),
        )

    def forget(self, connection: ZohoConnection) -> None:
        self._tokens.pop(self._key(connection), None)

    async def get(self, http: httpx.AsyncClient, connection: ZohoConnection) -> str:
        """A valid access token; raises ``DeliveryError`` (not retryable on auth errors)."""
        key = self._key(connection)
        token = self._tokens.get(key)
        if token is not None and self._clock() < token.expires_at:
            return token.value
        url = f"{connection.accounts_url.rstrip('/')}/oauth/v2/token"
        params = {
            "grant_type": "refresh_token",
            "client_id": connection.client_id,
            "client_secret": connection.client_secret.get_secret_value(),
            "refresh_token": connection.refresh_token.get_secret_value(),
        }
        try:
            response = await http.post(url, params=params)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Zoho accounts could not be reached: {exc!r}") from exc
        document = _json(response)
        error = document.get("error")
        if error or response.status_code >= 400 or not document.get("access_token"):
            raise _token_error(response.status_code, str(error or ""), document)
        self.refreshes += 1
        lifetime = float(document.get("expires_in") or 3600)
        value = str(document["access_token"])
        self._tokens[key] = _Token(value, self._clock() + max(lifetime - self._margin, 0.0))
        return value


TOKENS = ZohoTokens()


def zoho_applies(config: Mapping[str, Any] | None, call: Mapping[str, Any]) -> bool:
    """Whether the assistant's ``zoho`` config asks for this call (its ``outcomes``)."""
    return bool(config) and outcome_matches((config or {}).get("outcomes"), call.get("outcome"))


def zoho_record(
    config: Mapping[str, Any], call: Mapping[str, Any], *, name_fallback: bool = False
) -> dict[str, Any]:
    """The fields upserted: phone, the contact (Leads/Contacts), then ``field_mapping``.

    ``Last_Name`` is sent when the contact's name is known; with ``name_fallback`` the
    phone stands in for an unknown one (the module requires it to create a record, but it
    must not overwrite the name of a record that exists)."""
    module = str(config.get("module") or "")
    phone = prospect_phone(call)
    record: dict[str, Any] = {"Phone": phone}
    if module in PERSON_MODULES:
        contact = contact_fields(call)
        last_name = (
            contact["last_name"] or contact_name(contact) or (phone if name_fallback else "")
        )
        if last_name:
            record["Last_Name"] = last_name
        for field, name in (("First_Name", "first_name"), ("Email", "email")):
            if contact[name]:
                record[field] = contact[name]
        if contact["job_title"]:
            record["Title"] = contact["job_title"]
        if module == "Leads" and contact["company"]:
            record["Company"] = contact["company"]
    extracted = structured_output(call)
    prompt_variables = call.get("prompt_variables") or {}
    for mapping in config.get("field_mapping") or []:
        source, target = mapping.get("source"), mapping.get("zoho_field")
        if not source or not target:
            continue
        value = extracted.get(source)
        if value is None or value == "":
            value = prompt_variables.get(source)
        if value is None or value == "":
            continue
        record[str(target)] = as_text(value) if isinstance(value, list | dict) else value
    return record


def zoho_note(
    config: Mapping[str, Any], variables: Mapping[str, str], call: Mapping[str, Any]
) -> str:
    """The note's text: the ``template`` filled, or outcome + summary + extracted fields."""
    template = config.get("template")
    if template and str(template).strip():
        return fill(str(template), variables).strip()
    lines = [f"Outcome: {variables.get('outcome') or 'none'}"]
    if variables.get("summary"):
        lines += ["", variables["summary"]]
    extracted = {k: as_text(v) for k, v in structured_output(call).items() if as_text(v)}
    if extracted:
        lines += ["", "Extracted fields:", *(f"- {k}: {v}" for k, v in extracted.items())]
    if variables.get("call_url"):
        lines += ["", variables["call_url"]]
    return "\n".join(lines)


def zoho_call_log(
    module: str, record_id: str, variables: Mapping[str, str], call: Mapping[str, Any]
) -> dict[str, Any]:
    """A Calls-module record for the call, related to the upserted prospect."""
    attempt = latest_attempt(call)
    started = _time(attempt.get("answered_at")) or _time(attempt.get("started_at"))
    ended = _time(attempt.get("ended_at"))
    seconds = int((ended - started).total_seconds()) if started and ended else 0
    inbound = call.get("direction") == "inbound"
    description = "\n".join(
        line
        for line in (f"Outcome: {variables.get('outcome') or 'none'}", variables.get("summary"))
        if line
    )
    entry: dict[str, Any] = {
        "Subject": f"{'Inbound' if inbound else 'Outbound'} call: {variables.get('phone', '')}",
        "Call_Type": "Inbound" if inbound else "Outbound",
        "Call_Start_Time": (started or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "Call_Duration": f"{max(seconds, 0) // 60:02d}:{max(seconds, 0) % 60:02d}",
        "Description": description,
    }
    if module == "Contacts":
        entry["Who_Id"] = {"id": record_id}
    else:
        entry["What_Id"] = {"id": record_id}
        entry["$se_module"] = module
    return entry


async def sync_to_zoho(
    http: httpx.AsyncClient,
    connection: ZohoConnection,
    config: Mapping[str, Any],
    *,
    variables: dict[str, str],
    call: dict[str, Any],
    tokens: ZohoTokens | None = None,
    resume: Mapping[str, Any] | None = None,
) -> DeliveryTry:
    """Upsert, note, and (``log_call_activity``) call log; ``details``: ``module``,
    ``record_id``, ``action`` (insert/update), ``note_id``, ``call_log_id``.

    On failure, ``details`` holds what was done; give them back as ``resume`` on the next
    try so the note and the call log are not duplicated.
    """
    started = time.perf_counter()
    client = _Client(http, connection, tokens or TOKENS)
    module = str(config.get("module") or "")
    done = dict(resume or {})
    details: dict[str, Any] = {"module": module}
    for key in ("note_id", "call_log_id"):
        if done.get(key):
            details[key] = done[key]
    try:
        if not module:
            raise DeliveryError("the zoho config has no module", retryable=False)
        what = f"upserting into {module}"
        body = {"data": [zoho_record(config, call)], "duplicate_check_fields": ["Phone"]}
        try:
            result = await client.write(f"/{module}/upsert", body, what=what)
        except _Refused as exc:
            if exc.code != "MANDATORY_NOT_FOUND" or exc.field != "Last_Name":
                raise
            # A new record with no name known: the phone stands in for the last name.
            record = zoho_record(config, call, name_fallback=True)
            body = {"data": [record], "duplicate_check_fields": ["Phone"]}
            result = await client.write(f"/{module}/upsert", body, what=what)
        details["record_id"] = record_id = str(result["details"]["id"])
        details["action"] = result.get("action")
        if not details.get("note_id"):
            note = {
                "Note_Title": fill(DEFAULT_NOTE_TITLE, variables).strip(" :"),
                "Note_Content": zoho_note(config, variables, call),
            }
            result = await client.write(
                f"/{module}/{record_id}/Notes", {"data": [note]}, what="adding the note"
            )
            details["note_id"] = str(result["details"]["id"])
        if config.get("log_call_activity") and not details.get("call_log_id"):
            entry = zoho_call_log(module, record_id, variables, call)
            result = await client.write("/Calls", {"data": [entry]}, what="logging the call")
            details["call_log_id"] = str(result["details"]["id"])
    except DeliveryError as exc:
        return DeliveryTry(
            ok=False,
            latency_ms=_ms(started),
            status_code=exc.answered,
            error=str(exc),
            retryable=exc.retryable,
            details=details,
        )
    return DeliveryTry(
        ok=True, latency_ms=_ms(started), status_code=client.last_status, details=details
    )


class _Client:
    """CRM requests with the connection's access token, refreshed once on 401."""

    def __init__(
        self, http: httpx.AsyncClient, connection: ZohoConnection, tokens: ZohoTokens
    ) -> None:
        self._http = http
        self._connection = connection
        self._tokens = tokens
        self._base = connection.api_domain.rstrip("/") + API_PATH
        self.last_status: int | None = None

    async def write(self, path: str, body: dict[str, Any], *, what: str) -> dict[str, Any]:
        """POST ``body``; the first ``data`` result, which must be a success."""
        for attempt in range(2):
            token = await self._tokens.get(self._http, self._connection)
            try:
                response = await self._http.post(
                    self._base + path,
                    json=body,
                    headers={"Authorization": f"Zoho-oauthtoken {token}"},
                )
            except httpx.HTTPError as exc:
                raise DeliveryError(f"Zoho CRM could not be reached ({what}): {exc!r}") from exc
            self.last_status = status = response.status_code
            document = _json(response)
            if status == 401 and document.get("code") == "INVALID_TOKEN" and attempt == 0:
                self._tokens.forget(self._connection)
                continue
            return _result(status, document, what)
        raise AssertionError("unreachable")


def _result(status: int, document: dict[str, Any], what: str) -> dict[str, Any]:
    data = document.get("data")
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
    if (
        status < 300
        and first is not None
        and first.get("status") == "success"
        and isinstance(first.get("details"), dict)
        and first["details"].get("id")
    ):
        return first
    problem = first if first is not None else document
    code = str(problem.get("code") or "")
    message = str(problem.get("message") or "").strip()
    details = problem.get("details")
    field = details.get("api_name") if isinstance(details, dict) else None
    text = f"Zoho CRM refused {what} (HTTP {status}"
    text += f", {code})" if code else ")"
    if message:
        text += f": {message}"
    if field:
        text += f" (field {field})"
    if status == 401:
        text += " — check the connection's OAuth scopes (ZohoCRM.modules.ALL)"
    # 5xx, 408 and 429 pass; other 4xx and a refused record are lasting; a 2xx without
    # a result is an odd answer worth another try.
    retryable = status >= 500 or status in (408, 429)
    retryable = retryable or (status < 400 and code not in LASTING_CODES)
    raise _Refused(text, retryable=retryable, answered=status, code=code, field=field)


class _Refused(DeliveryError):
    """Zoho CRM answered an error; ``code`` and ``field`` (``details.api_name``) say which."""

    def __init__(
        self, message: str, *, retryable: bool, answered: int, code: str, field: str | None
    ) -> None:
        super().__init__(message, retryable=retryable, answered=answered)
        self.code = code
        self.field = field


def _token_error(status: int, error: str, document: dict[str, Any]) -> DeliveryError:
    if error in AUTH_ERRORS:
        return DeliveryError(
            f"Zoho refused the connection's credentials ({error}): check client_id, "
            "client_secret and refresh_token in zoho_connections (a refresh token belongs "
            "to one data center's accounts_url)",
            retryable=False,
            answered=status,
        )
    detail = error or str(document.get("error_description") or "") or "no access_token"
    return DeliveryError(
        f"Zoho accounts did not give an access token (HTTP {status}): {detail}",
        retryable=True,
        answered=status,
    )


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
