"""Large request bodies parsed and validated in a worker thread, not on the event loop.

FastAPI parses and validates a body on the event loop, which live calls' audio shares: a
campaign of 100,000 contacts (~10 MB of JSON) would hold it for a second. A route that
takes such a body reads it with :func:`validated_off_loop` instead, and declares it with
``openapi_extra=json_body(Model)`` so ``/openapi.json`` still describes it. Errors are
FastAPI's own (``RequestValidationError`` with ``body`` paths), so they get the same
answers as every other route's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from email.message import Message
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

_DOCUMENTED: dict[str, type[BaseModel]] = {}
_REF = "#/components/schemas/{model}"


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The route's ``openapi_extra``: a required JSON body of ``model``."""
    _DOCUMENTED[model.__name__] = model
    schema = {"$ref": _REF.format(model=model.__name__)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def document_bodies(app: FastAPI) -> None:
    """Add the models of :func:`json_body` routes to the app's OpenAPI components."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in _DOCUMENTED.items():
            if name in components:  # added before: FastAPI keeps the schema it made
                continue
            own = model.model_json_schema(ref_template=_REF, mode="validation")
            for def_name, definition in own.pop("$defs", {}).items():
                components.setdefault(def_name, definition)
            components.setdefault(name, own)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def validated_off_loop(request: Request, model: type[M]) -> M:
    """The request's JSON body as ``model``, parsed and checked in a worker thread."""
    raw, content_type = await request.body(), request.headers.get("content-type")
    return await asyncio.to_thread(parsed_json_body, raw, content_type, model)


def parsed_json_body(raw: bytes, content_type: str | None, model: type[M]) -> M:
    """``raw`` as ``model``, or FastAPI's ``RequestValidationError`` (synchronous)."""
    data: Any = None
    if raw:
        data = raw
        if _is_json(content_type):
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:  # as FastAPI reports it
                error = {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
                raise RequestValidationError([error], body=exc.doc) from None
    if data is None:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=data) from None


def _is_json(content_type: str | None) -> bool:
    """No content type, ``application/json`` or ``application/*+json`` (as FastAPI)."""
    if not content_type:
        return True
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
