"""One JSON error shape for every failure:

``{"error": {"code": ..., "message": ..., "fields": [{"path": ..., "message": ...}]}}``
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from openrevox.api.responses import WireJSON
from openrevox.errors import FieldError, OpenrevoxError
from openrevox.schemas.assistant_parts import LLM_MODEL_TYPES
from openrevox.schemas.common import SUBFIELD_SEPARATOR

log = logging.getLogger("openrevox.api")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
_DISCRIMINATOR_TAGS = frozenset(LLM_MODEL_TYPES)


def error_body(code: str, message: str, fields: Sequence[FieldError] = ()) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": [{"path": f.path, "message": f.message} for f in fields],
        }
    }


def field_path(loc: Sequence[int | str]) -> str:
    """``('body', 'voice', 'speed')`` → ``voice.speed``; list indexes as ``[0]``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    path = ""
    previous: int | str | None = None
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not (previous == "llm_model" and part in _DISCRIMINATOR_TAGS):
            path += ("." if path else "") + part
        previous = part
    return path or "body"


def field_errors(errors: Sequence[Any]) -> list[FieldError]:
    result: list[FieldError] = []
    for error in errors:
        kind = error.get("type", "")
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if kind == "missing":
            message = "is required"
        elif kind == "extra_forbidden":
            message = "is not a known field"
        elif error.get("input", ...) is None and "none" not in kind:
            message = "may not be null"
        path = field_path(error.get("loc", ()))
        if message.startswith("@"):  # schemas.common.at: the error names a sub-field
            sub, _, message = message[1:].partition(SUBFIELD_SEPARATOR)
            path = sub if path == "body" else f"{path}.{sub}"
        result.append(FieldError(path, message))
    return result


def install(app: FastAPI) -> None:
    @app.exception_handler(OpenrevoxError)
    async def _ours(_: Request, exc: OpenrevoxError) -> WireJSON:
        return WireJSON(error_body(exc.code, exc.message, exc.fields), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> WireJSON:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            detail = next(e for e in errors if e.get("type") == "json_invalid")
            reason = (detail.get("ctx") or {}).get("error", "")
            body = error_body("invalid_json", f"the request body is not valid JSON: {reason}")
            return WireJSON(body, status_code=400)
        fields = field_errors(errors)
        summary = "; ".join(f"{f.path}: {f.message}" for f in fields[:5])
        return WireJSON(error_body("invalid_request", summary, fields), status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> WireJSON:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return WireJSON(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> WireJSON:
        log.exception("unhandled error", exc_info=exc)
        return WireJSON(
            error_body("internal_error", "an unexpected error occurred; it has been logged"),
            status_code=500,
        )
