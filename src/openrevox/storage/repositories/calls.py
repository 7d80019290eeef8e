"""Call orders and their attempts, always scoped to one organization (except by assistant)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    String,
    and_,
    case,
    cast,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from openrevox.storage.models import Assistant, Call, CallAttempt, Campaign

# Rows streamed per round trip when exporting.
STREAM_BATCH = 500


@dataclass(frozen=True)
class CallFilters:
    """What a search or export keeps; an empty sequence filters nothing.

    ``outcomes`` and ``results`` may contain ``"none"``: no outcome / no result yet.
    ``query`` is matched case-insensitively as a substring; ``query_phone`` (the query
    read as a phone number, if it is one) must equal the number called.
    """

    organization_id: str
    statuses: Sequence[str] = ()
    assistant_ids: Sequence[str] = ()
    assignee_ids: Sequence[str] = ()
    campaign_ids: Sequence[str] = ()
    directions: Sequence[str] = ()
    from_phone_numbers: Sequence[str] = ()
    outcomes: Sequence[str] = ()
    results: Sequence[str] = ()
    call_ids: Sequence[str] = ()
    to_phone_number: str | None = None
    query: str | None = None
    query_phone: str | None = None


@dataclass(frozen=True)
class Sort:
    column: str = "created_at"
    descending: bool = True


# The number a call dials from: its own, else its assistant's (else the trunk's, chosen
# when dialling and recorded on the attempt).
FROM_NUMBER = func.coalesce(
    Call.from_phone_number, Call.assistant_snapshot["from_phone_number"].as_string()
)

SORTABLE: dict[str, Any] = {
    "created_at": Call.created_at,
    "updated_at": Call.updated_at,
    "scheduled_at": Call.scheduled_at,
    "status": Call.status,
    "outcome": Call.outcome,
    "to_phone_number": Call.to_phone_number,
    "from_phone_number": FROM_NUMBER,
    "calls_count": Call.calls_count,
    "direction": Call.direction,
}


def add(session: AsyncSession, call: Call) -> None:
    session.add(call)


async def hold_assistant(session: AsyncSession, assistant_id: str) -> None:
    """Keep the assistant from changing until the transaction ends (``FOR SHARE`` on
    PostgreSQL: calls placed at once do not wait for each other, an update waits for
    them), so a call never snapshots a version an update is replacing. SQLite runs one
    writer at a time anyway."""
    await session.execute(
        select(Assistant.id).where(Assistant.id == assistant_id).with_for_update(read=True)
    )


async def get(
    session: AsyncSession, organization_id: str, call_id: str, *, for_update: bool = False
) -> Call | None:
    """A call of the organization; another organization's is invisible.

    ``for_update`` locks the row until the transaction ends, so a user action and the
    dispatcher never both change the status from the same state.
    """
    query = select(Call).where(Call.id == call_id, Call.organization_id == organization_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def attempts_of(
    session: AsyncSession, call_ids: Sequence[str]
) -> dict[str, list[CallAttempt]]:
    """Attempts of several calls in one query, most recent first."""
    result: dict[str, list[CallAttempt]] = {call_id: [] for call_id in call_ids}
    if not call_ids:
        return result
    rows = await session.scalars(
        select(CallAttempt)
        .where(CallAttempt.call_id.in_(call_ids))
        .order_by(CallAttempt.call_id, CallAttempt.attempt_number.desc())
    )
    for attempt in rows:
        result[attempt.call_id].append(attempt)
    return result


async def search(
    session: AsyncSession, filters: CallFilters, sort: Sort, *, offset: int, limit: int
) -> list[Call]:
    query = select(Call).where(*_conditions(filters)).order_by(*_order(sort))
    return list(await session.scalars(query.offset(offset).limit(limit)))


async def count(session: AsyncSession, filters: CallFilters) -> int:
    query = select(func.count()).select_from(Call).where(*_conditions(filters))
    return int(await session.scalar(query) or 0)


# ---- export: streamed from a server-side cursor ----


EXPORT_CALL_COLUMNS = (
    Call.id.label("call_id"),
    Call.status.label("call_status"),
    Call.direction,
    Call.to_phone_number,
    FROM_NUMBER.label("from_phone_number"),
    Call.assistant_id,
    Call.assistant_snapshot["name"].as_string().label("assistant_name"),
    Call.campaign_id,
    Call.created_at,
    Call.scheduled_at,
    Call.calls_count,
    Call.outcome,
    Call.outcome_summary,
    Call.contact,
    Call.metadata_.label("metadata"),
    Call.structured_output.label("call_structured_output"),
)
EXPORT_ATTEMPT_COLUMNS = (
    CallAttempt.id.label("attempt_id"),
    CallAttempt.attempt_number,
    CallAttempt.status.label("attempt_status"),
    CallAttempt.started_at,
    CallAttempt.answered_at,
    CallAttempt.ended_at,
    CallAttempt.result,
    CallAttempt.dial_error,
    CallAttempt.ended_by,
    CallAttempt.end_reason,
    CallAttempt.recording_url,
    CallAttempt.transcript,
    CallAttempt.structured_output.label("attempt_structured_output"),
)


async def stream_export_rows(
    session: AsyncSession, filters: CallFilters, sort: Sort
) -> AsyncIterator[Row[Any]]:
    """One row per attempt (a call without attempts: one row with them null), in order."""
    query = (
        select(*EXPORT_CALL_COLUMNS, *EXPORT_ATTEMPT_COLUMNS)
        .outerjoin(CallAttempt, CallAttempt.call_id == Call.id)
        .where(*_conditions(filters))
        .order_by(*_order(sort), CallAttempt.attempt_number)
    )
    result = await session.stream(query.execution_options(yield_per=STREAM_BATCH))
    async for row in result:
        yield row


async def stream_output_keys(
    session: AsyncSession, filters: CallFilters, *, metadata: bool, structured_output: bool
) -> AsyncIterator[Row[Any]]:
    """What the export's extra column names come from, streamed: metadata, structured
    output (the call's and its attempts') and the snapshot's structured_output_config."""
    columns: list[Any] = [Call.id]
    if metadata:
        columns.append(Call.metadata_.label("metadata"))
    if structured_output:
        columns += [
            Call.structured_output.label("call_structured_output"),
            CallAttempt.structured_output.label("attempt_structured_output"),
            Call.assistant_snapshot["structured_output_config"].label("output_config"),
        ]
    query = select(*columns).where(*_conditions(filters))
    if structured_output:
        query = query.outerjoin(CallAttempt, CallAttempt.call_id == Call.id)
    result = await session.stream(query.execution_options(yield_per=STREAM_BATCH))
    async for row in result:
        yield row


# ---- phone history ----


@dataclass
class NumberHistory:
    """Everything known about one number the organization called."""

    count: int = 0
    do_not_contact: bool = False
    last_called_at: datetime | None = None
    reached_human: bool = False
    last_outcome: str | None = None
    campaign_ids: list[str] = field(default_factory=list)
    campaign_names: dict[str, str] = field(default_factory=dict)  # by id, when known


async def phone_history(session: AsyncSession, organization_id: str) -> dict[str, NumberHistory]:
    """Per number called: four aggregate queries, whatever the number of calls."""
    of_org = Call.organization_id == organization_id
    history: dict[str, NumberHistory] = {}
    orders = await session.execute(
        select(
            Call.to_phone_number,
            func.count(),
            func.max(case((Call.do_not_contact, 1), else_=0)),
        )
        .where(of_org)
        .group_by(Call.to_phone_number)
    )
    for number, calls, do_not_contact in orders:
        history[number] = NumberHistory(count=int(calls), do_not_contact=bool(do_not_contact))

    dials = await session.execute(
        select(
            Call.to_phone_number,
            func.max(func.coalesce(CallAttempt.started_at, CallAttempt.created_at)),
            func.max(case((CallAttempt.result == "human", 1), else_=0)),
        )
        .join(CallAttempt, CallAttempt.call_id == Call.id)
        .where(of_org)
        .group_by(Call.to_phone_number)
    )
    for number, last_called_at, reached_human in dials:
        entry = history.setdefault(number, NumberHistory())
        entry.last_called_at = _aware(last_called_at)
        entry.reached_human = bool(reached_human)

    newest = (
        select(
            Call.to_phone_number.label("number"),
            Call.outcome.label("outcome"),
            func.row_number()
            .over(
                partition_by=Call.to_phone_number,
                order_by=(Call.created_at.desc(), Call.id.desc()),
            )
            .label("rank"),
        )
        .where(of_org, Call.outcome.is_not(None))
        .subquery()
    )
    outcomes = await session.execute(
        select(newest.c.number, newest.c.outcome).where(newest.c.rank == 1)
    )
    for number, outcome in outcomes:
        history.setdefault(number, NumberHistory()).last_outcome = outcome

    campaigns = await session.execute(
        select(Call.to_phone_number, Call.campaign_id, Campaign.name)
        .outerjoin(Campaign, Campaign.id == Call.campaign_id)
        .where(of_org, Call.campaign_id.is_not(None))
        .group_by(Call.to_phone_number, Call.campaign_id, Campaign.name)
        .order_by(Call.to_phone_number, Call.campaign_id)
    )
    for number, campaign_id, name in campaigns:
        if campaign_id is not None:
            entry = history.setdefault(number, NumberHistory())
            entry.campaign_ids.append(campaign_id)
            if name is not None:
                entry.campaign_names[campaign_id] = name
    return history


# ---- an assistant's calls (the assistant update and delete hooks) ----


@dataclass(frozen=True)
class PendingCall:
    """What re-planning a call that has not dialled its next attempt needs."""

    id: str
    status: str
    prompt_variables: dict[str, str]
    to_phone_number: str
    calls_count: int
    next_attempt_at: datetime | None
    requested_scheduled_at: datetime | None
    skip_calling_window: bool
    retry_config: dict[str, Any] | None


async def pending_of_assistant(
    session: AsyncSession, assistant_id: str, statuses: Sequence[str]
) -> list[PendingCall]:
    """The assistant's calls in ``statuses``, locked until the transaction ends; the
    snapshot itself is not loaded, only its ``call_retry_config``."""
    query = (
        select(
            Call.id,
            Call.status,
            Call.prompt_variables,
            Call.to_phone_number,
            Call.calls_count,
            Call.next_attempt_at,
            Call.requested_scheduled_at,
            Call.skip_calling_window,
            Call.assistant_snapshot["call_retry_config"],
        )
        .where(Call.assistant_id == assistant_id, Call.status.in_(statuses))
        .order_by(Call.id)
        .with_for_update()
    )
    rows = await session.execute(query)
    return [PendingCall(*row) for row in rows]


async def set_snapshot(
    session: AsyncSession, call_ids: Sequence[str], snapshot: dict[str, Any], now: datetime
) -> None:
    """Give the calls a new assistant snapshot, in batches of one statement each."""
    for start in range(0, len(call_ids), STREAM_BATCH):
        batch = call_ids[start : start + STREAM_BATCH]
        await session.execute(
            update(Call)
            .where(Call.id.in_(batch))
            .values(assistant_snapshot=snapshot, updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def replan(
    session: AsyncSession,
    call_id: str,
    *,
    status: str,
    next_attempt_at: datetime,
    scheduled_at: datetime | None,
) -> None:
    values: dict[str, Any] = {"status": status, "next_attempt_at": next_attempt_at}
    if scheduled_at is not None:
        values["scheduled_at"] = scheduled_at
    await session.execute(
        update(Call)
        .where(Call.id == call_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def count_of_assistant(
    session: AsyncSession, assistant_id: str, statuses: Sequence[str]
) -> dict[str, int]:
    """How many of the assistant's calls are in each of ``statuses`` (absent: none)."""
    rows = await session.execute(
        select(Call.status, func.count())
        .where(Call.assistant_id == assistant_id, Call.status.in_(statuses))
        .group_by(Call.status)
    )
    return {status: int(n) for status, n in rows}


# ---- query building ----


def _conditions(f: CallFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Call.organization_id == f.organization_id]
    for column, values in (
        (Call.status, f.statuses),
        (Call.assistant_id, f.assistant_ids),
        (Call.assignee_id, f.assignee_ids),
        (Call.campaign_id, f.campaign_ids),
        (Call.direction, f.directions),
        (FROM_NUMBER, f.from_phone_numbers),
        (Call.id, f.call_ids),
    ):
        if values:
            conditions.append(column.in_(list(values)))
    for column, values in ((Call.outcome, f.outcomes), (Call.result, f.results)):
        if values:
            conditions.append(_in_or_none(column, values))
    if f.to_phone_number:
        conditions.append(Call.to_phone_number == f.to_phone_number)
    if f.query:
        pattern = "%" + _escape_like(f.query) + "%"
        texts: list[Any] = [Call.id, Call.to_phone_number, FROM_NUMBER, Call.outcome_summary]
        matches = [text.ilike(pattern, escape="\\") for text in texts]
        # JSON documents as text: the query as typed, and as JSON escapes it (quotes,
        # backslashes; non-ASCII too, as SQLite stores it \u-escaped).
        escaped = json.dumps(f.query)[1:-1]
        patterns = {pattern, "%" + _escape_like(escaped) + "%"}
        for document in (Call.metadata_, Call.prompt_variables, Call.contact):
            text = cast(document, String)
            matches += [text.ilike(p, escape="\\") for p in sorted(patterns)]
        if f.query_phone:
            matches.append(Call.to_phone_number == f.query_phone)
        conditions.append(or_(*matches))
    return conditions


def _in_or_none(column: InstrumentedAttribute[Any], values: Sequence[str]) -> ColumnElement[bool]:
    named = [v for v in values if v != "none"]
    parts: list[ColumnElement[bool]] = []
    if named:
        parts.append(column.in_(named))
    if "none" in values:
        parts.append(column.is_(None))
    return or_(*parts) if len(parts) > 1 else and_(*parts)


def _order(sort: Sort) -> list[Any]:
    column = SORTABLE[sort.column]
    primary = (column.desc() if sort.descending else column.asc()).nulls_last()
    tie = Call.created_at.desc() if sort.descending else Call.created_at.asc()
    ident = Call.id.desc() if sort.descending else Call.id.asc()
    return [primary, tie, ident] if sort.column != "created_at" else [primary, ident]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates lose the column type on SQLite: give them back their UTC zone."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def latest_campaign_of_number(
    session: AsyncSession, organization_id: str, number: str
) -> str | None:
    """The campaign of the organization's latest outbound call to ``number``, if any: an
    inbound call from that number is a callback of that campaign."""
    return await session.scalar(
        select(Call.campaign_id)
        .where(
            Call.organization_id == organization_id,
            Call.direction == "outbound",
            Call.to_phone_number == number,
            Call.campaign_id.is_not(None),
        )
        .order_by(Call.created_at.desc())
        .limit(1)
    )
