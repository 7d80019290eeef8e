"""Campaigns, their rows, and their calls taken all at once (scoped to one organization)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    String,
    Table,
    case,
    func,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.bulk import NewRows, insert_rows
from openrevox.storage.models import Call, Campaign, CampaignRow
from openrevox.storage.repositories.calls import STREAM_BATCH, CallFilters
from openrevox.storage.repositories.calls import _conditions as call_conditions


async def get(
    session: AsyncSession, organization_id: str, campaign_id: str, *, for_update: bool = False
) -> Campaign | None:
    """A live campaign of the organization; archived ones and others' are invisible.

    ``for_update`` locks it until the transaction ends: actions on one campaign (launch,
    pause, resume, cancel, update, delete) take turns."""
    query = select(Campaign).where(
        Campaign.id == campaign_id,
        Campaign.organization_id == organization_id,
        Campaign.deleted_at.is_(None),
    )
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def listing(session: AsyncSession, organization_id: str) -> list[Campaign]:
    query = (
        select(Campaign)
        .where(Campaign.organization_id == organization_id, Campaign.deleted_at.is_(None))
        .order_by(Campaign.created_at.desc(), Campaign.id)
    )
    return list(await session.scalars(query))


async def names(session: AsyncSession, campaign_ids: Iterable[str]) -> dict[str, str]:
    """Campaign names by id (archived ones included: their calls still name them)."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    rows = await session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids)))
    return {campaign_id: name for campaign_id, name in rows}


async def retry_overrides(
    session: AsyncSession, call_ids: Sequence[str]
) -> dict[str, tuple[str, str, Any]]:
    """Of these calls, those whose campaign has its own ``call_retry_config``:
    ``{call id: (call id, campaign id, config)}``."""
    result: dict[str, tuple[str, str, Any]] = {}
    for start in range(0, len(call_ids), STREAM_BATCH):
        rows = await session.execute(
            select(Call.id, Campaign.id, Campaign.call_retry_config)
            .join(Campaign, Campaign.id == Call.campaign_id)
            .where(
                Call.id.in_(list(call_ids[start : start + STREAM_BATCH])),
                Campaign.call_retry_config.is_not(None),
            )
        )
        for call_id, campaign_id, config in rows:
            if config is not None:  # JSON null on some backends
                result[call_id] = (call_id, campaign_id, config)
    return result


async def add(session: AsyncSession, campaign: Campaign) -> None:
    """The campaign, flushed: its contacts' calls may follow."""
    session.add(campaign)
    await session.flush()


async def add_contacts(session: AsyncSession, calls: NewRows, rows: NewRows) -> None:
    """Contacts of a flushed campaign: their calls, then their rows, each in one bulk
    insert."""
    await insert_rows(session, cast(Table, Call.__table__), calls)
    await insert_rows(session, cast(Table, CampaignRow.__table__), rows)


# ---- counts: row stats, funnel, status ----


@dataclass
class Tally:
    """A campaign's calls counted by status (and the few distinctions its stats need)."""

    by_status: dict[str, int] = field(default_factory=dict)
    retried: dict[str, int] = field(default_factory=dict)  # by status, calls_count > 0
    human: int = 0
    hot: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


async def tallies(session: AsyncSession, campaign_ids: Sequence[str]) -> dict[str, Tally]:
    """Per campaign, one aggregate query whatever the number of calls."""
    result = {campaign_id: Tally() for campaign_id in campaign_ids}
    if not campaign_ids:
        return result
    retried = case((Call.calls_count > 0, 1), else_=0)
    query = (
        select(
            Call.campaign_id,
            Call.status,
            func.count(),
            func.sum(retried),
            func.sum(case((Call.result == "human", 1), else_=0)),
            func.sum(case((Call.outcome == "interested", 1), else_=0)),
        )
        .where(Call.campaign_id.in_(list(campaign_ids)))
        .group_by(Call.campaign_id, Call.status)
    )
    for campaign_id, status, n, n_retried, human, hot in await session.execute(query):
        tally = result[campaign_id]
        tally.by_status[status] = int(n)
        tally.retried[status] = int(n_retried or 0)
        tally.human += int(human or 0)
        tally.hot += int(hot or 0)
    return result


# ---- the campaign's calls, all at once ----


def _of_campaign(campaign_id: str, statuses: Sequence[str]) -> list[ColumnElement[bool]]:
    return [Call.campaign_id == campaign_id, Call.status.in_(list(statuses))]


@dataclass(frozen=True)
class PlanRow:
    """What planning a call's next attempt needs, without loading its snapshot."""

    id: str
    status: str
    to_phone_number: str
    retry_config: Any
    calls_count: int
    next_attempt_at: datetime | None
    requested_scheduled_at: datetime | None
    skip_calling_window: bool
    claimed_by: str | None


_RETRY_CONFIG = Call.assistant_snapshot["call_retry_config"]
_PLAN_COLUMNS = (
    Call.id,
    Call.status,
    Call.to_phone_number,
    _RETRY_CONFIG,
    Call.calls_count,
    Call.next_attempt_at,
    Call.requested_scheduled_at,
    Call.skip_calling_window,
    Call.claimed_by,
)


async def calls_in(
    session: AsyncSession, campaign_id: str, statuses: Sequence[str]
) -> list[PlanRow]:
    """The campaign's calls in ``statuses``, locked until the transaction ends."""
    query = (
        select(*_PLAN_COLUMNS)
        .where(*_of_campaign(campaign_id, statuses))
        .order_by(Call.id)
        .with_for_update()
    )
    return [PlanRow(*row) for row in await session.execute(query)]


async def set_planned(
    session: AsyncSession, call_ids: Sequence[str], from_status: str, values: Mapping[str, Any]
) -> int:
    """The calls still in ``from_status`` take ``values``: one statement per batch.
    Returns how many did."""
    return await set_planned_from(session, call_ids, (from_status,), values)


async def set_planned_from(
    session: AsyncSession,
    call_ids: Sequence[str],
    from_statuses: Iterable[str],
    values: Mapping[str, Any],
) -> int:
    """The calls still in one of ``from_statuses`` take ``values``, in batches. Returns
    how many did."""
    sources = sorted(from_statuses)
    changed = 0
    for start in range(0, len(call_ids), STREAM_BATCH):
        result = await session.execute(
            update(Call)
            .where(
                Call.id.in_(list(call_ids[start : start + STREAM_BATCH])),
                Call.status.in_(sources),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


async def set_retry_config(
    session: AsyncSession,
    campaign_id: str,
    statuses: Sequence[str],
    config: Any,
    now: datetime,
) -> None:
    """Replace ``call_retry_config`` inside the snapshot of the campaign's calls in
    ``statuses``, in one statement (the rest of each snapshot is left as it is)."""
    payload = json.dumps(config)
    conn = await session.connection()
    snapshot: Any
    if conn.dialect.name == "postgresql":
        snapshot = func.jsonb_set(
            Call.assistant_snapshot,
            literal_column("'{call_retry_config}'"),
            sql_cast(literal(payload, String), JSONB),
        )
    else:
        snapshot = func.json_set(Call.assistant_snapshot, "$.call_retry_config", func.json(payload))
    await session.execute(
        update(Call)
        .where(*_of_campaign(campaign_id, statuses))
        .values(assistant_snapshot=snapshot, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def set_status_where(
    session: AsyncSession,
    campaign_id: str,
    sources: Sequence[str],
    values: Mapping[str, Any],
    *,
    not_live: bool = False,
) -> int:
    """One conditional update: every call of the campaign in ``sources`` takes ``values``
    (with ``not_live``, only those without a live attempt: no lease held). Returns how
    many changed."""
    conditions = _of_campaign(campaign_id, sources)
    if not_live:
        conditions.append(Call.claimed_by.is_(None))
    result = await session.execute(
        update(Call)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def update_calls(
    session: AsyncSession, campaign_id: str, statuses: Sequence[str], values: Mapping[str, Any]
) -> None:
    await set_status_where(session, campaign_id, statuses, values)


def _selection(filters: CallFilters, exclude_ids: Sequence[str]) -> list[ColumnElement[bool]]:
    conditions = call_conditions(filters)
    if exclude_ids:
        conditions.append(Call.id.not_in(list(exclude_ids)))
    return conditions


async def selected_statuses(
    session: AsyncSession, filters: CallFilters, exclude_ids: Sequence[str]
) -> dict[str, int]:
    """How many calls matching call-search filters (the campaign's, via ``campaign_ids``),
    less ``exclude_ids``, are in each status."""
    query = (
        select(Call.status, func.count())
        .where(*_selection(filters, exclude_ids))
        .group_by(Call.status)
    )
    return {status: int(n) for status, n in await session.execute(query)}


async def unlaunched_retry_configs(
    session: AsyncSession, filters: CallFilters, exclude_ids: Sequence[str]
) -> list[Any]:
    """The distinct ``call_retry_config`` of the selected ``not_launched`` calls (one, but
    for a campaign whose calls were made under different configurations)."""
    query = (
        select(_RETRY_CONFIG)
        .where(*_selection(filters, exclude_ids), Call.status == "not_launched")
        .distinct()
    )
    return list(await session.scalars(query))


async def unlaunched(
    session: AsyncSession, filters: CallFilters, exclude_ids: Sequence[str], *, configs: bool
) -> list[tuple[str, str, Any]]:
    """``(id, to_phone_number, call_retry_config or None)`` of the selected
    ``not_launched`` calls; their configs read only when asked (``configs``)."""
    config: Any = _RETRY_CONFIG if configs else literal(None)
    query = select(Call.id, Call.to_phone_number, config).where(
        *_selection(filters, exclude_ids), Call.status == "not_launched"
    )
    return [(call_id, number, value) for call_id, number, value in await session.execute(query)]


async def set_unlaunched(
    session: AsyncSession,
    filters: CallFilters,
    exclude_ids: Sequence[str],
    values: Mapping[str, Any],
) -> int:
    """Every selected call still ``not_launched`` takes ``values``, in one statement.
    Returns how many did."""
    result = await session.execute(
        update(Call)
        .where(*_selection(filters, exclude_ids), Call.status == "not_launched")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---- rows ----


def _row_conditions(campaign_id: str, filters: CallFilters | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [CampaignRow.campaign_id == campaign_id]
    if filters is not None:
        conditions += call_conditions(filters)
    return conditions


async def rows_page(
    session: AsyncSession,
    campaign_id: str,
    filters: CallFilters | None,
    *,
    offset: int,
    limit: int,
) -> list[tuple[CampaignRow, Call]]:
    query = (
        select(CampaignRow, Call)
        .join(Call, Call.id == CampaignRow.call_id)
        .where(*_row_conditions(campaign_id, filters))
        .order_by(CampaignRow.row_index)
        .offset(offset)
        .limit(limit)
    )
    return [(row, call) for row, call in await session.execute(query)]


async def rows_count(session: AsyncSession, campaign_id: str, filters: CallFilters | None) -> int:
    query = (
        select(func.count())
        .select_from(CampaignRow)
        .join(Call, Call.id == CampaignRow.call_id)
        .where(*_row_conditions(campaign_id, filters))
    )
    return int(await session.scalar(query) or 0)


# ---- export: streamed from a server-side cursor ----


@dataclass(frozen=True)
class ExportKeys:
    """What the export's extra column names come from, each name once."""

    variables: set[str]
    outputs: set[str]  # structured-output keys found on calls
    output_configs: list[Any]  # the distinct ``structured_output_config`` of snapshots


async def export_keys(session: AsyncSession, campaign_id: str) -> ExportKeys:
    """Input-variable names, structured-output keys and output configs of the campaign's
    rows, made distinct by the database (nothing per row comes back)."""
    conn = await session.connection()
    variables = await _distinct_keys(session, conn.dialect.name, "r.input_data", campaign_id)
    outputs = await _distinct_keys(session, conn.dialect.name, "c.structured_output", campaign_id)
    config = Call.assistant_snapshot["structured_output_config"]
    configs = await session.scalars(
        select(config)
        .join(CampaignRow, CampaignRow.call_id == Call.id)
        .where(CampaignRow.campaign_id == campaign_id)
        .distinct()
    )
    return ExportKeys(variables, outputs, list(configs))


async def _distinct_keys(
    session: AsyncSession, dialect: str, document: str, campaign_id: str
) -> set[str]:
    """The distinct top-level keys of a JSON object column over the campaign's rows
    (``r``: campaign_rows, ``c``: their calls); non-objects have none."""
    joined = "campaign_rows r JOIN calls c ON c.id = r.call_id"
    if dialect == "postgresql":
        keys = (
            f"jsonb_object_keys(CASE WHEN jsonb_typeof({document}) = 'object' "
            f"THEN {document} END) AS j(key)"
        )
    else:
        keys = f"json_each(CASE WHEN json_type({document}) = 'object' THEN {document} END) AS j"
    statement = f"SELECT DISTINCT j.key FROM {joined}, {keys} WHERE r.campaign_id = :campaign"
    result = await session.execute(text(statement), {"campaign": campaign_id})
    return {str(key) for (key,) in result}


async def stream_export_rows(
    session: AsyncSession, campaign_id: str
) -> AsyncIterator[list[Row[Any]]]:
    """The export's rows in row order, in batches from a server-side cursor."""
    query = (
        select(
            CampaignRow.row_index,
            CampaignRow.phone_number,
            CampaignRow.input_data,
            Call.id.label("call_id"),
            Call.status,
            Call.result,
            Call.outcome,
            Call.outcome_summary,
            Call.summary,
            Call.calls_count,
            Call.structured_output,
        )
        .join(Call, Call.id == CampaignRow.call_id)
        .where(CampaignRow.campaign_id == campaign_id)
        .order_by(CampaignRow.row_index)
    )
    result = await session.stream(query.execution_options(yield_per=STREAM_BATCH))
    async for batch in result.partitions():
        yield cast(list[Row[Any]], batch)


def archive(campaign: Campaign, now: datetime) -> None:
    campaign.deleted_at = now
    campaign.updated_at = now
