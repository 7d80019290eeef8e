"""The aggregates behind ``GET /campaigns/{id}/statistics`` (docs/campaigns.md#statistics).

Everything is counted in SQL, in a handful of statements whatever the campaign's size;
only the leads shown (at most ``LEADS_LIMIT`` per list) come back as rows.

Each figure is over the campaign's calls (``calls.campaign_id``) and their attempts.
A call's *number* is the other party's: the number called (outbound) or the caller's
(inbound: ``from_phone_number``, else ``to_phone_number``); numbers are stored in E.164.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.storage.models import Call, CallAttempt, CampaignRow

# The leads listed per category (interested, callback requested), most recent first.
LEADS_LIMIT = 1000

_A = CallAttempt


def _phone() -> ColumnElement[str]:
    """The other party's number."""
    return case(
        (Call.direction == "inbound", func.coalesce(Call.from_phone_number, Call.to_phone_number)),
        else_=Call.to_phone_number,
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _per_call(campaign_id: str) -> CTE:
    """One row per call of the campaign: its number, direction, outcome, and from its
    attempts: how many, whether one reached a person, first start and last activity."""
    reached = or_(
        _A.result == "human",
        and_(Call.direction == "inbound", _A.answered_at.is_not(None)),
    )
    activity = func.coalesce(_A.ended_at, _A.answered_at, _A.started_at)
    return (
        select(
            Call.id.label("call_id"),
            _phone().label("phone"),
            Call.direction.label("direction"),
            Call.outcome.label("outcome"),
            Call.created_at.label("created_at"),
            func.count(_A.id).label("attempts"),
            func.coalesce(func.max(_flag(reached)), 0).label("reached"),
            func.min(_A.started_at).label("first_at"),
            func.max(activity).label("last_at"),
        )
        .select_from(Call)
        .outerjoin(_A, _A.call_id == Call.id)
        .where(Call.campaign_id == campaign_id)
        .group_by(
            Call.id,
            Call.direction,
            Call.outcome,
            Call.created_at,
            Call.from_phone_number,
            Call.to_phone_number,
        )
        .cte("per_call")
    )


def _per_phone(per_call: CTE) -> Subquery:
    """One row per number: called out, called in, reached each way."""
    c = per_call.c
    outbound = c.direction != "inbound"
    inbound = c.direction == "inbound"
    return (
        select(
            c.phone.label("phone"),
            func.max(_flag(and_(outbound, c.attempts > 0))).label("called_out"),
            func.max(_flag(inbound)).label("called_in"),
            func.max(_flag(and_(outbound, c.reached == 1))).label("reached_out"),
            func.max(_flag(and_(inbound, c.reached == 1))).label("reached_in"),
        )
        .group_by(c.phone)
        .subquery("per_phone")
    )


@dataclass
class Totals:
    called: int = 0
    reached: int = 0
    reached_outbound: int = 0
    reached_inbound: int = 0
    reached_both: int = 0
    unique_callers: int = 0
    outbound_attempts: int = 0
    inbound_calls: int = 0
    first_activity_at: datetime | None = None
    last_activity_at: datetime | None = None


async def totals(session: AsyncSession, campaign_id: str) -> Totals:
    """The funnel's first two tiles, the effort and the activity span: one statement."""
    per_call = _per_call(campaign_id)
    p = _per_phone(per_call).c
    c = per_call.c
    phones = select(
        func.sum(_flag(or_(p.called_out == 1, p.called_in == 1))).label("called"),
        func.sum(_flag(or_(p.reached_out == 1, p.reached_in == 1))).label("reached"),
        func.sum(p.reached_out).label("reached_out"),
        func.sum(p.reached_in).label("reached_in"),
        func.sum(_flag(and_(p.reached_out == 1, p.reached_in == 1))).label("reached_both"),
        func.sum(p.called_in).label("callers"),
    ).subquery("phones")
    inbound = c.direction == "inbound"
    first = case((inbound, func.coalesce(c.first_at, c.created_at)), else_=c.first_at)
    last = case((inbound, func.coalesce(c.last_at, c.created_at)), else_=c.last_at)
    effort = select(
        func.sum(case((inbound, 0), else_=c.attempts)).label("attempts"),
        func.sum(_flag(inbound)).label("inbound_calls"),
        func.min(first).label("first_at"),
        func.max(last).label("last_at"),
    ).subquery("effort")
    both = phones.join(effort, true())  # one row each
    row = (await session.execute(select(phones, effort).select_from(both))).one()
    return Totals(
        called=int(row.called or 0),
        reached=int(row.reached or 0),
        reached_outbound=int(row.reached_out or 0),
        reached_inbound=int(row.reached_in or 0),
        reached_both=int(row.reached_both or 0),
        unique_callers=int(row.callers or 0),
        outbound_attempts=int(row.attempts or 0),
        inbound_calls=int(row.inbound_calls or 0),
        first_activity_at=_timestamp(row.first_at),
        last_activity_at=_timestamp(row.last_at),
    )


def _verdicts(campaign_id: str) -> Subquery:
    """Per reached number, its verdict: the most recent of its calls with an outcome
    (by last activity, then creation, then id)."""
    per_call = _per_call(campaign_id)
    c = per_call.c
    recency = func.coalesce(c.last_at, c.created_at)
    ranked = (
        select(
            c.call_id,
            c.phone,
            c.outcome,
            recency.label("last_at"),
            func.row_number()
            .over(partition_by=c.phone, order_by=(recency.desc(), c.call_id.desc()))
            .label("rank"),
        )
        .where(c.outcome.is_not(None))
        .subquery("ranked")
    )
    reached = select(c.phone).where(c.reached == 1)
    return (
        select(ranked.c.call_id, ranked.c.phone, ranked.c.outcome, ranked.c.last_at)
        .where(ranked.c.rank == 1, ranked.c.phone.in_(reached))
        .subquery("verdicts")
    )


@dataclass
class Breakdown:
    """Real exchanges by verdict outcome, and per structured-output field how many of
    them have a value for it."""

    by_outcome: dict[str, int] = field(default_factory=dict)
    filled: dict[str, int] = field(default_factory=dict)
    any_filled: int = 0  # real exchanges with a value for at least one field

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())


def _json_text(column: Any, key: str) -> ColumnElement[Any]:
    value: ColumnElement[Any] = column[key].as_string()
    return value


async def breakdown(
    session: AsyncSession, campaign_id: str, fields: Sequence[str] = ()
) -> Breakdown:
    """One statement: verdicts grouped by outcome, with one sum per field."""
    verdicts = _verdicts(campaign_id)
    given = [_json_text(Call.structured_output, name).is_not(None) for name in fields]
    columns: list[ColumnElement[Any]] = [
        verdicts.c.outcome,
        func.count().label("n"),
        func.sum(_flag(or_(*given))).label("any_filled") if given else literal(0),
    ]
    columns += [func.sum(_flag(one)).label(f"f{i}") for i, one in enumerate(given)]
    query = (
        select(*columns)
        .select_from(verdicts)
        .join(Call, Call.id == verdicts.c.call_id)
        .group_by(verdicts.c.outcome)
    )
    result = Breakdown(filled=dict.fromkeys(fields, 0))
    for row in await session.execute(query):
        result.by_outcome[str(row[0])] = int(row[1])
        result.any_filled += int(row[2] or 0)
        for i, name in enumerate(fields):
            result.filled[name] += int(row[3 + i] or 0)
    return result


@dataclass(frozen=True)
class Lead:
    call_id: str
    attempt_id: str | None
    outcome: str
    direction: str
    phone: str
    contact: dict[str, Any] | None
    summary: str | None
    last_activity_at: datetime | None


async def leads(
    session: AsyncSession,
    campaign_id: str,
    outcomes: Sequence[str],
    limit: int = LEADS_LIMIT,
) -> list[Lead]:
    """Numbers whose verdict is one of ``outcomes``: the ``limit`` most recent per
    outcome, newest first, each with its verdict call's latest attempt."""
    verdicts = _verdicts(campaign_id)
    v = verdicts.c
    ranked = (
        select(
            v.call_id,
            v.phone,
            v.outcome,
            v.last_at,
            func.row_number()
            .over(partition_by=v.outcome, order_by=(v.last_at.desc(), v.call_id.desc()))
            .label("place"),
        )
        .where(v.outcome.in_(list(outcomes)))
        .subquery("wanted")
    )
    latest_attempt = (
        select(_A.id)
        .where(_A.call_id == ranked.c.call_id)
        .order_by(_A.attempt_number.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(
            ranked.c.call_id,
            latest_attempt.label("attempt_id"),
            ranked.c.outcome,
            Call.direction,
            ranked.c.phone,
            Call.contact,
            func.coalesce(Call.outcome_summary, Call.summary).label("summary"),
            ranked.c.last_at,
        )
        .join(Call, Call.id == ranked.c.call_id)
        .where(ranked.c.place <= limit)
        .order_by(ranked.c.last_at.desc(), ranked.c.call_id.desc())
    )
    return [
        Lead(
            call_id=row.call_id,
            attempt_id=row.attempt_id,
            outcome=row.outcome,
            direction=row.direction,
            phone=row.phone,
            contact=row.contact if isinstance(row.contact, dict) else None,
            summary=row.summary,
            last_activity_at=_timestamp(row.last_at),
        )
        for row in await session.execute(query)
    ]


async def imported_rows(session: AsyncSession, campaign_id: str) -> int:
    query = (
        select(func.count()).select_from(CampaignRow).where(CampaignRow.campaign_id == campaign_id)
    )
    return int(await session.scalar(query) or 0)


async def first_number(session: AsyncSession, campaign_id: str) -> str | None:
    """The number of the campaign's first row (its time zone names the campaign's)."""
    query = (
        select(CampaignRow.phone_number)
        .where(CampaignRow.campaign_id == campaign_id)
        .order_by(CampaignRow.row_index)
        .limit(1)
    )
    return await session.scalar(query)


@dataclass(frozen=True)
class JumpIn:
    joined_calls: int
    median_conversation_seconds: float | None


def _seconds(session: AsyncSession, start: Any, end: Any) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * literal(86400.0)


async def jump_in(session: AsyncSession, campaign_id: str) -> JumpIn:
    """Attempts a person of the team joined (``handled_by_human``); the median of their
    answered-to-end durations, by counting then reading the middle one or two rows."""
    joined = [Call.campaign_id == campaign_id, _A.handled_by_human.is_(True)]
    timed = and_(_A.answered_at.is_not(None), _A.ended_at.is_not(None))
    counts = (
        await session.execute(
            select(func.count(), func.sum(_flag(timed)))
            .select_from(_A)
            .join(Call, Call.id == _A.call_id)
            .where(*joined)
        )
    ).one()
    count, n = int(counts[0] or 0), int(counts[1] or 0)
    duration = _seconds(session, _A.answered_at, _A.ended_at)
    median: float | None = None
    if n:
        middle = (
            select(duration.label("seconds"))
            .select_from(_A)
            .join(Call, Call.id == _A.call_id)
            .where(*joined, timed)
            .order_by(duration, _A.id)
            .offset((n - 1) // 2)
            .limit(2 - n % 2)
        )
        values = [float(v) for v in await session.scalars(middle)]
        median = round(max(0.0, sum(values) / len(values)), 3)
    return JumpIn(joined_calls=count, median_conversation_seconds=median)


def _timestamp(value: Any) -> datetime | None:
    """Aggregates over UTCDateTime columns come back as datetimes on PostgreSQL; SQLite's
    MIN/MAX/COALESCE may hand back the stored text."""
    if value is None or isinstance(value, datetime):
        return _aware(value)
    text = str(value).replace(" ", "T")
    return _aware(datetime.fromisoformat(text))


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
