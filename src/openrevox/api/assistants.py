"""``/assistants``: every method of ``client.assistants`` in SDK 0.5.0."""

from __future__ import annotations

from fastapi import APIRouter

from openrevox.api.deps import Caller, Db
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

router = APIRouter(prefix="/assistants", tags=["assistants"])


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
async def get_assistant(assistant_id: str, caller: Caller, db: Db) -> WireJSON:
    async with db.read() as session:
        view = await service.get(session, caller, assistant_id)
    return WireJSON(service.to_wire(view))


@router.patch("/{assistant_id}", response_model=AssistantUpdateEnvelope, response_class=WireJSON)
async def update_assistant(
    assistant_id: str, body: AssistantUpdate, caller: Caller, db: Db
) -> WireJSON:
    """Partial update: only the fields in the body change; nested objects are replaced whole."""
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
