"""``/assistants``: every method of ``client.assistants`` in SDK 0.5.0."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from openrevox.api.deps import Caller, Db, authenticate, bearer_key, database
from openrevox.api.responses import WireJSON
from openrevox.schemas.assistants import (
    AssistantCreate,
    AssistantEnvelope,
    AssistantList,
    AssistantOut,
    AssistantUpdate,
    AssistantUpdateEnvelope,
    Success,
)
from openrevox.services import assistants as service


class KeyBeforeBodyRoute(APIRoute):
    """A missing, unknown or revoked key is a 401 even when the body is invalid too.

    GET and PATCH ``/{id}`` read the key themselves (no dependency to solve on the hot
    path) and check it inside their unit of work, so they only see it after FastAPI
    validated the body; a ``Caller`` dependency sees it before. This keeps the answer the
    same: on invalid input the key is checked first. Malformed JSON stays a 400 whatever
    the key, as FastAPI reports it before any dependency runs.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as invalid:
                if not any(e.get("type") == "json_invalid" for e in invalid.errors()):
                    await authenticate(database(request), bearer_key(request))
                raise

        return route


router = APIRouter(prefix="/assistants", tags=["assistants"], route_class=KeyBeforeBodyRoute)


@router.post("", response_model=AssistantEnvelope, response_class=WireJSON, status_code=201)
async def create_assistant(body: AssistantCreate, caller: Caller, db: Db) -> WireJSON:
    """Create an assistant; fields not given take their documented defaults."""
    async with db.write() as session:
        view = await service.create(session, caller, body)
    return WireJSON({"assistant": service.to_wire(view)}, status_code=201)


@router.get("", response_model=AssistantList, response_class=WireJSON)
async def list_assistants(caller: Caller, db: Db) -> WireJSON:
    """Every assistant of the organization, newest first; sub-assistants are hidden."""
    async with db.read() as session:
        views = await service.listing(session, caller)
    return WireJSON({"assistants": [service.to_wire(v) for v in views]})


@router.get("/{assistant_id}", response_model=AssistantOut, response_class=WireJSON)
async def get_assistant(assistant_id: str, request: Request) -> WireJSON:
    db, key = database(request), bearer_key(request)
    if db.has_units:  # the key and the assistant in one read in the database thread
        return WireJSON(service.to_wire(await service.get_in_one_unit(db, key, assistant_id)))
    caller = await authenticate(db, key)
    async with db.read() as session:
        view = await service.get(session, caller, assistant_id)
    return WireJSON(service.to_wire(view))


@router.patch("/{assistant_id}", response_model=AssistantUpdateEnvelope, response_class=WireJSON)
async def update_assistant(assistant_id: str, body: AssistantUpdate, request: Request) -> WireJSON:
    """Partial update: only the fields in the body change; nested objects are replaced whole."""
    db, key = database(request), bearer_key(request)
    if db.has_units:  # the usual update: one write in the database thread
        done = await service.update_in_one_unit(db, key, assistant_id, body)
        if done is not None:
            return WireJSON({"assistant": service.to_wire(done)})
    caller = await authenticate(db, key)
    async with db.write() as session:
        view = await service.update(session, caller, assistant_id, body)
    envelope = {"assistant": service.to_wire(view)}
    if view.unpatched_calls is not None:
        envelope["unpatchedCallsNotice"] = view.unpatched_calls.to_wire()
    return WireJSON(envelope)


@router.delete("/{assistant_id}", response_model=Success, response_class=WireJSON)
async def delete_assistant(assistant_id: str, caller: Caller, db: Db) -> WireJSON:
    """Archive the assistant: it is gone from the API; records that refer to it stay valid.
    Refused (409) while unfinished calls use it."""
    async with db.write() as session:
        await service.delete(session, caller, assistant_id)
    return WireJSON({"success": True})


@router.post(
    "/{assistant_id}/clone",
    response_model=AssistantEnvelope,
    response_class=WireJSON,
    status_code=201,
)
async def clone_assistant(assistant_id: str, caller: Caller, db: Db) -> WireJSON:
    """A copy of every field and FAQ item, with a new id."""
    async with db.write() as session:
        view = await service.clone(session, caller, assistant_id)
    return WireJSON({"assistant": service.to_wire(view)}, status_code=201)
