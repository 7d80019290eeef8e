"""``/phone-numbers``: ``client.phone_numbers`` of SDK 0.5.0 (list, update, delete), plus
``POST /phone-numbers`` to add a number (an extension; docs/phone_numbers.md)."""

from __future__ import annotations

from fastapi import APIRouter

from openrevox.api.deps import Caller, Db
from openrevox.api.responses import WireJSON
from openrevox.schemas.assistants import Success
from openrevox.schemas.phone_numbers import (
    PhoneNumberCreate,
    PhoneNumberEnvelope,
    PhoneNumberList,
    PhoneNumberUpdate,
)
from openrevox.services import phone_numbers as service

router = APIRouter(prefix="/phone-numbers", tags=["phone numbers"])


@router.post("", response_model=PhoneNumberEnvelope, response_class=WireJSON, status_code=201)
async def add_phone_number(body: PhoneNumberCreate, caller: Caller, db: Db) -> WireJSON:
    """Add a number the organization owns (E.164, or national in its country). 409 when
    it already has it; 400 when ``inbound_assistant_id`` is not one of its assistants."""
    async with db.write() as session:
        view = await service.create(session, caller.organization_id, caller.user_id, body)
    return WireJSON({"phone_number": service.to_wire(view)}, status_code=201)


@router.get("", response_model=PhoneNumberList, response_class=WireJSON)
async def list_phone_numbers(caller: Caller, db: Db) -> WireJSON:
    """The organization's numbers, oldest first."""
    async with db.read() as session:
        views = await service.listing(session, caller.organization_id)
    return WireJSON({"phone_numbers": [service.to_wire(v) for v in views]})


@router.patch("/{number_id}", response_model=PhoneNumberEnvelope, response_class=WireJSON)
async def update_phone_number(
    number_id: str, body: PhoneNumberUpdate, caller: Caller, db: Db
) -> WireJSON:
    """Set or clear the label and the assistant that answers inbound calls."""
    async with db.write() as session:
        view = await service.update(session, caller.organization_id, number_id, body)
    return WireJSON({"phone_number": service.to_wire(view)})


@router.delete("/{number_id}", response_model=Success, response_class=WireJSON)
async def delete_phone_number(number_id: str, caller: Caller, db: Db) -> WireJSON:
    """Delete the number; refused (409) while assistants or campaigns call from it."""
    async with db.write() as session:
        await service.delete(session, caller.organization_id, number_id)
    return WireJSON({"success": True})
