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
    case,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import Call, Campaign, CampaignRow
from openrevox.storage.repositories.calls import STREAM_BATCH, CallFilters
from openrevox.storage.repositories.calls import _conditions as call_conditions

# Rows (and calls) written per statement on create.
INSERT_BATCH = 1000


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


async def add(
    session: AsyncSession,
    campaign: Campaign,
    calls: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """The campaign, its calls and its rows, in batched multi-row inserts."""
    session.add(campaign)
    await session.flush()
    for start in range(0, len(calls), INSERT_BATCH):
        await session.execute(insert(Call), list(calls[start : start + INSERT_BATCH]))
    for start in range(0, len(rows), INSERT_BATCH):
        await session.execute(insert(CampaignRow), list(rows[start : start + INSERT_BATCH]))


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


_PLAN_COLUMNS = (
    Call.id,
    Call.status,
    Call.to_phone_number,
    Call.assistant_snapshot["call_retry_config"],
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
) -> None:
    """The calls still in ``from_status`` take ``values``: one statement per batch."""
    await set_planned_from(session, call_ids, (from_status,), values)


async def set_planned_from(
    session: AsyncSession,
    call_ids: Sequence[str],
    from_statuses: Iterable[str],
    values: Mapping[str, Any],
) -> None:
    """The calls still in one of ``from_statuses`` take ``values``, in batches."""
    sources = sorted(from_statuses)
    for start in range(0, len(call_ids), STREAM_BATCH):
        await session.execute(
            update(Call)
            .where(
                Call.id.in_(list(call_ids[start : start + STREAM_BATCH])),
                Call.status.in_(sources),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


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


async def selected_calls(
    session: AsyncSession, filters: CallFilters, exclude_ids: Sequence[str]
) -> list[PlanRow]:
    """Calls matching call-search filters (the campaign's, via ``campaign_ids``), less
    ``exclude_ids``; locked until the transaction ends."""
    conditions = call_conditions(filters)
    if exclude_ids:
        conditions.append(Call.id.not_in(list(exclude_ids)))
    query = select(*_PLAN_COLUMNS).where(*conditions).order_by(Call.id).with_for_update()
    return [PlanRow(*row) for row in await session.execute(query)]


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


async def stream_export_keys(session: AsyncSession, campaign_id: str) -> AsyncIterator[Row[Any]]:
    """What the export's extra column names come from: input variables, structured
    output and the snapshot's ``structured_output_config``."""
    query = (
        select(
            CampaignRow.input_data,
            Call.structured_output,
            Call.assistant_snapshot["structured_output_config"].label("output_config"),
        )
        .join(Call, Call.id == CampaignRow.call_id)
        .where(CampaignRow.campaign_id == campaign_id)
    )
    result = await session.stream(query.execution_options(yield_per=STREAM_BATCH))
    async for row in result:
        yield row


async def stream_export_rows(session: AsyncSession, campaign_id: str) -> AsyncIterator[Row[Any]]:
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
    async for row in result:
        yield cast(Row[Any], row)


def archive(campaign: Campaign, now: datetime) -> None:
    campaign.deleted_at = now
    campaign.updated_at = now
