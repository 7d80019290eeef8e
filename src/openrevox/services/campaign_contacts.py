"""A campaign's contacts: each row checked (number, duplicates, variables), one 400 naming
every bad row, and the rows made into calls and ``campaign_rows`` (docs/campaigns.md)."""

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.phone_numbers import InvalidPhoneNumber, normalise
from openrevox.domain.scheduling import (
    InvalidRetryConfig,
    NoCallingTime,
    first_attempt_at,
    recipient_zones,
)
from openrevox.errors import FieldError, InvalidInput
from openrevox.schemas.campaigns import ContactIn, contact_variables
from openrevox.services.auth import Principal
from openrevox.storage.bulk import NewRows
from openrevox.storage.models import Campaign, new_ids
from openrevox.storage.repositories import campaigns, organizations

MAX_ERRORS_IN_MESSAGE = 5


# Contacts checked and inserted per chunk: one is checked in a worker thread while the
# one before it is inserted (the database works on the other core).
CHUNK_CONTACTS = 10_000


@dataclass
class ContactCheck:
    """A campaign's contacts checked chunk by chunk, in order: each number's first row and
    every problem found so far."""

    country: str | None
    needed: set[str]
    errors: list[FieldError] = field(default_factory=list)
    first_row: dict[str, int] = field(default_factory=dict)

    def numbers(self, contacts: Sequence[ContactIn], start: int) -> list[str]:
        """Each contact's number in E.164 (``""`` when invalid), ``contacts[0]`` being row
        ``start``; every problem recorded: an invalid number, a number given twice, a
        missing variable."""
        numbers: list[str] = []
        errors, first_row = self.errors, self.first_row
        for index, contact in enumerate(contacts, start):
            path = f"contacts[{index}]"
            number = parse_phone(
                contact["to_phone_number"], self.country, f"{path}.to_phone_number", errors
            )
            numbers.append(number or "")
            if number:
                if number in first_row:
                    errors.append(
                        FieldError(
                            f"{path}.to_phone_number",
                            f"{number} is already contacts[{first_row[number]}]; "
                            "each number is called once per campaign",
                        )
                    )
                else:
                    first_row[number] = index
            for name in sorted(self.needed - contact.get("prompt_variables", {}).keys()):
                errors.append(
                    FieldError(
                        f"{path}.prompt_variables.{name}",
                        f"is required: the assistant uses {{{{{name}}}}}",
                    )
                )
        return numbers


async def add_contacts(
    session: AsyncSession,
    campaign: Campaign,
    contacts: Sequence[ContactIn],
    check: ContactCheck,
    snapshot: dict[str, Any],
) -> None:
    """Check every contact and insert its call and row, chunk by chunk, the next chunk
    checked and made into rows in a worker thread while the one before it is inserted.
    Once a problem is found nothing more is inserted but every chunk is still checked:
    the 400 names every bad row, and the caller's transaction, rolled back by it, undoes
    what was inserted. The campaign itself is already flushed."""
    starts = range(0, len(contacts), CHUNK_CONTACTS)
    calling_time: InvalidInput | None = None
    pending = asyncio.create_task(
        asyncio.to_thread(_prepared, campaign, contacts, 0, check, snapshot)
    )
    try:
        for start in starts:
            prepared = await pending
            following = start + CHUNK_CONTACTS
            if following < len(contacts):
                pending = asyncio.create_task(
                    asyncio.to_thread(_prepared, campaign, contacts, following, check, snapshot)
                )
            if prepared is None or calling_time is not None:
                continue
            calls, rows = prepared
            if start == 0:
                first_number = calls.rows[0][CALL_COLUMNS.index("to_phone_number")]
                try:
                    check_calling_time(
                        campaign.created_at, snapshot, first_number, "call_retry_config"
                    )
                except InvalidInput as exc:
                    calling_time = exc
                    continue
            await campaigns.add_contacts(session, calls, rows)
    finally:
        await asyncio.wait([pending])  # a chunk still being checked when an insert failed
        if not pending.cancelled():
            pending.exception()  # retrieved: the error raised here is the one that counts
    if check.errors:
        raise invalid_contacts(check.errors, len(contacts))
    if calling_time is not None:
        raise calling_time


def _prepared(
    campaign: Campaign,
    contacts: Sequence[ContactIn],
    start: int,
    check: ContactCheck,
    snapshot: dict[str, Any],
) -> tuple[NewRows, NewRows] | None:
    """The chunk from row ``start`` checked, and its calls and rows while all is well."""
    chunk = contacts[start : start + CHUNK_CONTACTS]
    numbers = check.numbers(chunk, start)
    return None if check.errors else materialise(campaign, chunk, numbers, snapshot, start)


CALL_COLUMNS = ("id", "prompt_variables", "to_phone_number")
ROW_COLUMNS = ("id", "row_index", "phone_number", "input_data", "call_id")


def materialise(
    campaign: Campaign,
    contacts: Sequence[ContactIn],
    numbers: Sequence[str],
    snapshot: dict[str, Any],
    start: int,
) -> tuple[NewRows, NewRows]:
    """One ``not_launched`` call per contact (created when the campaign is) and its row
    keeping the contact as given, ``contacts[0]`` being row ``start``: what every call
    shares (the snapshot among it) once, what is each one's own per row."""
    calls = NewRows(CALL_COLUMNS, same=_call_defaults(campaign, snapshot))
    rows = NewRows(ROW_COLUMNS, same={"campaign_id": campaign.id})
    ids = new_ids(2 * len(contacts))
    for index, (contact, number) in enumerate(zip(contacts, numbers, strict=True)):
        call_id = ids[2 * index]
        variables = contact_variables(contact)
        calls.rows.append((call_id, variables, number))
        rows.rows.append((ids[2 * index + 1], start + index, number, variables, call_id))
    return calls, rows


def _call_defaults(campaign: Campaign, snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        "organization_id": campaign.organization_id,
        "assistant_id": campaign.assistant_id,
        "assistant_snapshot": snapshot,
        "metadata": {},
        "from_phone_number": campaign.from_phone_number,
        "direction": "outbound",
        "status": "not_launched",
        "scheduled_at": campaign.created_at,
        "next_attempt_at": None,
        "skip_calling_window": False,
        "campaign_id": campaign.id,
        "created_by_id": campaign.created_by_id,
        "calls_count": 0,
        "do_not_contact": False,
        "created_at": campaign.created_at,
        "updated_at": campaign.created_at,
    }


async def organization_country(session: AsyncSession, principal: Principal) -> str | None:
    organization = await organizations.get(session, principal.organization_id)
    return organization.country if organization else None


def parse_phone(text: str, country: str | None, path: str, errors: list[FieldError]) -> str | None:
    """E.164, or None with the error recorded under ``path``."""
    try:
        return normalise(text.strip(), country)
    except InvalidPhoneNumber as exc:
        hint = "" if text.strip().startswith("+") or country else " (give it in E.164: +...)"
        errors.append(FieldError(path, f"{exc}{hint}"))
        return None


def invalid_contacts(errors: Sequence[FieldError], contacts: int) -> InvalidInput:
    rows = sorted(
        {
            int(f.path.split("]")[0][len("contacts[") :])
            for f in errors
            if f.path.startswith("contacts[")
        }
    )
    shown = "; ".join(f"{f.path}: {f.message}" for f in errors[:MAX_ERRORS_IN_MESSAGE])
    more = len(errors) - MAX_ERRORS_IN_MESSAGE
    if more > 0:
        shown += f"; and {more} more (see fields)"
    if rows:
        head = (
            f"{len(rows)} of {contacts} contacts are invalid (rows {_ranges(rows)}); "
            "nothing was created: "
        )
    else:
        head = ""
    return InvalidInput(head + shown, fields=list(errors))


def _ranges(indexes: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in indexes[:20])
    return shown + (", ..." if len(indexes) > 20 else "")


def check_calling_time(now: datetime, snapshot: Mapping[str, Any], number: str, path: str) -> None:
    config = snapshot.get("call_retry_config")
    try:
        first_attempt_at(now, config, recipient_zones(number, config))
    except (NoCallingTime, InvalidRetryConfig) as exc:
        raise InvalidInput.at(path, str(exc)) from None
