"""A campaign's contacts: each row checked (number, duplicates, variables), one 400 naming
every bad row, and the rows made into calls and ``campaign_rows`` (docs/campaigns.md)."""

from collections.abc import Mapping, Sequence
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
from openrevox.schemas.campaigns import ContactIn
from openrevox.services.auth import Principal
from openrevox.storage.bulk import NewRows
from openrevox.storage.models import Campaign, new_ids
from openrevox.storage.repositories import organizations

MAX_ERRORS_IN_MESSAGE = 5


def check_contacts(
    contacts: Sequence[ContactIn], country: str | None, needed: set[str]
) -> tuple[list[str], list[FieldError]]:
    """Each contact's number in E.164 (``""`` when invalid) and every problem of every
    row: an invalid number, a number given twice, a missing variable."""
    errors: list[FieldError] = []
    numbers: list[str] = []
    first_row: dict[str, int] = {}
    for index, contact in enumerate(contacts):
        path = f"contacts[{index}]"
        number = parse_phone(contact.to_phone_number, country, f"{path}.to_phone_number", errors)
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
        for name in sorted(needed - set(contact.prompt_variables)):
            errors.append(
                FieldError(
                    f"{path}.prompt_variables.{name}",
                    f"is required: the assistant uses {{{{{name}}}}}",
                )
            )
    return numbers, errors


CALL_COLUMNS = ("id", "prompt_variables", "to_phone_number")
ROW_COLUMNS = ("id", "row_index", "phone_number", "input_data", "call_id")


def materialise(
    campaign: Campaign,
    contacts: Sequence[ContactIn],
    numbers: Sequence[str],
    snapshot: dict[str, Any],
) -> tuple[NewRows, NewRows]:
    """One ``not_launched`` call per contact (created when the campaign is) and its row
    keeping the contact as given: what every call shares (the snapshot among it) once,
    what is each one's own per row."""
    calls = NewRows(CALL_COLUMNS, same=_call_defaults(campaign, snapshot))
    rows = NewRows(ROW_COLUMNS, same={"campaign_id": campaign.id})
    ids = new_ids(2 * len(contacts))
    for index, (contact, number) in enumerate(zip(contacts, numbers, strict=True)):
        call_id = ids[2 * index]
        variables = contact.variables()
        calls.rows.append((call_id, variables, number))
        rows.rows.append((ids[2 * index + 1], index, number, variables, call_id))
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
