"""Phone number use cases: add, list, update, delete; the ownership rule (docs/phone_numbers.md).

A number is stored in E.164, at most once per organization. ``from_phone_number`` on an
assistant, a call or a campaign must be one of the organization's numbers
(``require_owned``); a number in use as such cannot be deleted. A number routes inbound
calls (``inbound_assistant_id``) for at most one organization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.identifiers import is_resource_id
from openrevox.domain.phone_numbers import InvalidPhoneNumber, normalise
from openrevox.errors import Conflict, InvalidInput, NotFound
from openrevox.schemas.phone_numbers import PhoneNumberCreate, PhoneNumberUpdate
from openrevox.services import assistants
from openrevox.services.wire_values import member, timestamp
from openrevox.storage.models import PhoneNumber, User, new_id, utcnow
from openrevox.storage.repositories import assistants as assistant_repo
from openrevox.storage.repositories import organizations
from openrevox.storage.repositories import phone_numbers as repo

ADD_HINT = "add it first (POST /phone-numbers or `openrevox numbers add`)"


@dataclass
class PhoneNumberView:
    """A number with what its wire form needs besides the row."""

    number: PhoneNumber
    creator: User | None
    inbound_assistant: assistants.AssistantView | None


async def require_owned(
    session: AsyncSession, organization_id: str, number: str | None, path: str
) -> None:
    """``number`` (E.164) must be one of the organization's numbers; else a 400 at ``path``.

    None (no number asked for: the default one applies) is always allowed."""
    if number is None:
        return
    if await repo.by_number(session, organization_id, number) is None:
        raise InvalidInput.at(
            path, f"{number} is not a phone number of this organization; {ADD_HINT}"
        )


async def normalised(session: AsyncSession, organization_id: str, text: str, path: str) -> str:
    """E.164 from E.164 or a national number of the organization's country; else a 400."""
    organization = await organizations.get(session, organization_id)
    country = organization.country if organization else None
    try:
        return normalise(text.strip(), country)
    except InvalidPhoneNumber as exc:
        hint = "" if text.strip().startswith("+") or country else " (give it in E.164: +...)"
        raise InvalidInput.at(path, f"{exc}{hint}") from None


async def create(
    session: AsyncSession, organization_id: str, user_id: str | None, body: PhoneNumberCreate
) -> PhoneNumberView:
    number = await normalised(session, organization_id, body.phone_number, "phone_number")
    existing = await repo.by_number(session, organization_id, number)
    if existing is not None:
        raise Conflict(f"{number} is already a phone number of this organization ({existing.id})")
    now = utcnow()
    row = PhoneNumber(
        id=new_id(),
        organization_id=organization_id,
        phone_number=number,
        provider=body.provider,
        source=body.source,
        type=body.type,
        label=body.label,
        inbound_sip_uri=body.inbound_sip_uri,
        created_by_id=user_id,
        created_at=now,
        updated_at=now,
    )
    if body.inbound_assistant_id is not None:
        await _route_inbound(session, row, body.inbound_assistant_id)
    repo.add(session, row)
    try:
        await session.flush()
    except IntegrityError:  # added meanwhile by a concurrent request
        raise Conflict(f"{number} is already a phone number of this organization") from None
    return await _view(session, row)


async def listing(session: AsyncSession, organization_id: str) -> list[PhoneNumberView]:
    return [await _view(session, row) for row in await repo.listing(session, organization_id)]


async def update(
    session: AsyncSession, organization_id: str, number_id: str, body: PhoneNumberUpdate
) -> PhoneNumberView:
    row = await _require(session, organization_id, number_id, for_update=True)
    sent = body.model_fields_set
    if "inbound_assistant_id" in sent:
        if body.inbound_assistant_id is None:
            row.inbound_assistant_id = None
        else:
            await _route_inbound(session, row, body.inbound_assistant_id)
    if "label" in sent:
        row.label = body.label
    if sent:
        row.updated_at = utcnow()
    await session.flush()
    return await _view(session, row)


async def delete(session: AsyncSession, organization_id: str, number_id: str) -> None:
    """Delete the number, unless assistants or campaigns call from it (409 naming them)."""
    row = await _require(session, organization_id, number_id, for_update=True)
    users = [
        f"assistant {name!r} ({ident})"
        for ident, name in await repo.assistants_using(session, organization_id, row.phone_number)
    ]
    users += [
        f"campaign {name!r} ({ident})"
        for ident, name in await repo.campaigns_using(session, organization_id, row.phone_number)
    ]
    if users:
        raise Conflict(
            f"{row.phone_number} is the from_phone_number of {', '.join(users)}; "
            "give them another number first"
        )
    await session.delete(row)
    await session.flush()


async def by_number(
    session: AsyncSession, organization_id: str, text: str
) -> PhoneNumberView | None:
    """The organization's row for a number given in any accepted form (the CLI)."""
    number = await normalised(session, organization_id, text, "phone_number")
    row = await repo.by_number(session, organization_id, number)
    return None if row is None else await _view(session, row)


def to_wire(view: PhoneNumberView) -> dict[str, Any]:
    """The number as SDK 0.3.0 to 0.5.0 validate it."""
    n = view.number
    return {
        "id": n.id,
        "created_at": timestamp(n.created_at),
        "created_by": member(view.creator),
        "inbound_assistant": None
        if view.inbound_assistant is None
        else assistants.to_wire(view.inbound_assistant),
        "inbound_sip_uri": n.inbound_sip_uri,
        "label": n.label,
        "livekit_outbound_trunk_id": None,
        "phone_number": n.phone_number,
        "provider": n.provider,
        "source": n.source,
        "type": n.type,
    }


# ---- helpers ----


async def _require(
    session: AsyncSession, organization_id: str, number_id: str, *, for_update: bool = False
) -> PhoneNumber:
    row = None
    if is_resource_id(number_id):
        row = await repo.get(session, organization_id, number_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no phone number with id {number_id!r}")
    return row


async def _route_inbound(session: AsyncSession, row: PhoneNumber, assistant_id: str) -> None:
    """Point the number's inbound calls at one of the organization's assistants."""
    path = "inbound_assistant_id"
    assistant = (
        await assistant_repo.get(session, row.organization_id, assistant_id)
        if is_resource_id(assistant_id)
        else None
    )
    if assistant is None:
        raise InvalidInput.at(path, f"no assistant with id {assistant_id!r}")
    if row.type == "verified_caller_id":
        raise InvalidInput.at(
            path, "a verified caller id is only used to call out; it receives no calls"
        )
    for other in await repo.inbound_routes(session, row.phone_number):
        if other.organization_id != row.organization_id:
            raise Conflict(
                f"{row.phone_number} already routes inbound calls to another organization"
            )
    row.inbound_assistant_id = assistant.id


async def _view(session: AsyncSession, row: PhoneNumber) -> PhoneNumberView:
    creators = await assistant_repo.users(session, {row.created_by_id} - {None})  # type: ignore[arg-type]
    inbound = None
    if row.inbound_assistant_id:
        assistant = await assistant_repo.get(session, row.organization_id, row.inbound_assistant_id)
        if assistant is not None:  # an archived assistant answers nothing
            faq = (await assistant_repo.faq_items(session, [assistant.id]))[assistant.id]
            inbound = await assistants.view_of(session, assistant, faq)
    return PhoneNumberView(row, creators.get(row.created_by_id or ""), inbound)
