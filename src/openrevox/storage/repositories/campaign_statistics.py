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
    Select,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.scheduling.states import ORDER_STATUSES
from openrevox.storage.models import Call, CallAttempt, CampaignRow

# The leads listed per category (interested, callback requested), most recent first.
LEADS_LIMIT = 1000

_A = CallAttempt
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# An attempt's last activity: the expression of the index ix_call_attempts_campaign_activity.
_ACTIVITY = func.coalesce(_A.ended_at, _A.answered_at, _A.started_at)


def _phone() -> ColumnElement[str]:
    """The other party's number."""
    return case(
        (Call.direction == "inbound", func.coalesce(Call.from_phone_number, Call.to_phone_number)),
        else_=Call.to_phone_number,
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


async def prepare(session: AsyncSession) -> None:
    """PostgreSQL: no JIT for the statistics' statements. Their cost estimates (window
    passes, correlated lookups) pass ``jit_above_cost`` while they run in tens of
    milliseconds; compiling them took 300 ms and more (EXPLAIN ANALYZE, 20,000 calls)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))


def _last_activity(call_id: Any) -> ColumnElement[Any]:
    """When the call's attempts last did something (correlated: use on few rows)."""
    return (
        select(func.max(func.coalesce(_A.ended_at, _A.answered_at, _A.started_at)))
        .where(_A.call_id == call_id)
        .scalar_subquery()
    )


def _shared(campaign_id: str) -> Select[Any]:
    """The campaign's *shared* numbers: those with more than one call in it, i.e. that
    called in, or that are on several outbound calls (a contact list never has a number
    twice, docs/campaigns.md, but the figures do not rely on it). Every other number has
    exactly one call, an outbound one. Both parts are read in the index's order
    (``ix_calls_campaign_stats``); callers are few."""
    callers = select(_phone().label("phone")).where(
        Call.campaign_id == campaign_id, Call.direction == "inbound"
    )
    repeated = (
        select(Call.to_phone_number)
        .where(Call.campaign_id == campaign_id, Call.direction == "outbound")
        .group_by(Call.to_phone_number)
        .having(func.count() > 1)
    )
    return select(union(callers, repeated).subquery("shared").c.phone)


# The shared numbers, as a list when there are few (bound once into each statement),
# else as the query itself.
Shared = list[str] | Select[Any]
SHARED_INLINE = 1000


async def shared_numbers(session: AsyncSession, campaign_id: str) -> Shared:
    """Read once per report: a campaign's shared numbers are usually few (callers)."""
    query = _shared(campaign_id)
    found = list(await session.scalars(query.limit(SHARED_INLINE + 1)))
    return [str(n) for n in found] if len(found) <= SHARED_INLINE else query


def _per_call(campaign_id: str, shared: Shared) -> CTE:
    """One row per call of the campaign on a shared number, from ``calls`` alone (its
    narrow columns):
    number, direction, outcome, attempts made (``calls_count``) and whether it reached a
    person: the latest attempt's result is ``human`` (a person reached ends an order,
    docs/scheduling.md), or, for an inbound call, an attempt was answered (looked up for
    inbound calls only)."""
    answered = select(_A.id).where(_A.call_id == Call.id, _A.answered_at.is_not(None)).exists()
    reached = case(
        (Call.result == "human", 1),
        (Call.direction == "inbound", case((answered, 1), else_=0)),
        else_=0,
    )
    columns = (
        Call.id.label("call_id"),
        _phone().label("phone"),
        Call.direction.label("direction"),
        Call.outcome.label("outcome"),
        Call.created_at.label("created_at"),
        Call.updated_at.label("updated_at"),
        Call.calls_count.label("attempts"),
        reached.label("reached"),
    )
    # Every inbound call, and the outbound calls on shared numbers: index lookups.
    inbound = select(*columns).where(Call.campaign_id == campaign_id, Call.direction == "inbound")
    outbound = select(*columns).where(
        Call.campaign_id == campaign_id,
        Call.direction == "outbound",
        Call.to_phone_number.in_(shared),
    )
    return union_all(inbound, outbound).cte("per_call")


def _numbers(campaign_id: str, shared: Shared) -> Subquery:
    """One window pass over the calls on shared numbers, partitioned by number. Each call row
    gets its number's flags (called out or in, reached out or in, attempts made); the
    number's *verdict* call ranks first: calls with an outcome before the others, the
    most recently updated first (the analysis writes the outcome when the order ends),
    then by id. Every window shares one definition, so each backend sorts once."""
    c = _per_call(campaign_id, shared).c
    outbound = c.direction == "outbound"
    inbound = c.direction == "inbound"
    order = (case((c.outcome.is_(None), 1), else_=0), c.updated_at.desc(), c.call_id.desc())

    def over(value: ColumnElement[Any], name: str) -> ColumnElement[Any]:
        whole = func.max(value).over(partition_by=c.phone)
        return whole.label(name)

    return select(
        c.call_id,
        c.phone,
        c.outcome,
        c.updated_at,
        func.row_number().over(partition_by=c.phone, order_by=order).label("rank"),
        over(_flag(and_(outbound, c.attempts > 0)), "called_out"),
        over(_flag(inbound), "called_in"),
        over(_flag(and_(outbound, c.reached == 1)), "reached_out"),
        over(_flag(and_(inbound, c.reached == 1)), "reached_in"),
        c.attempts,
        c.direction,
    ).subquery("numbers")


def _verdicts(campaign_id: str, shared: Shared) -> Subquery:
    """Per reached number, its verdict call (the first of its rank)."""
    n = _numbers(campaign_id, shared).c
    reached = or_(n.reached_out == 1, n.reached_in == 1)
    return (
        select(n.call_id, n.phone, n.outcome, n.updated_at)
        .where(n.rank == 1, n.outcome.is_not(None), reached)
        .subquery("verdicts")
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
    # Real exchanges by verdict outcome.
    by_outcome: dict[str, int] = field(default_factory=dict)

    @property
    def real_exchanges(self) -> int:
        return sum(self.by_outcome.values())


# Outcomes counted by a plain sum each (no GROUP BY: no sort over the campaign's calls);
# another stored value (an older vocabulary) is grouped in a second, rare statement.
OUTCOMES: tuple[str, ...] = (
    "interested",
    "requested_callback_later",
    "not_interested",
    "completed",
)


def _plain_conditions(campaign_id: str, shared: Shared) -> list[ColumnElement[bool]]:
    return [
        Call.campaign_id == campaign_id,
        Call.direction == "outbound",
        Call.to_phone_number.not_in(shared),
    ]


def _plain_totals(campaign_id: str, shared: Shared) -> Any:
    """Numbers with exactly one call, outbound: every figure is a plain sum, in one
    pass over the covering index."""
    reached = Call.result == "human"
    verdict = and_(reached, Call.outcome.is_not(None))
    return select(
        func.sum(_flag(Call.calls_count > 0)),
        func.sum(_flag(reached)),
        func.sum(Call.calls_count),
        func.sum(_flag(and_(verdict, Call.outcome.not_in(OUTCOMES)))),
        *(func.sum(_flag(and_(reached, Call.outcome == o))) for o in OUTCOMES),
    ).where(*_plain_conditions(campaign_id, shared))


def _plain_other_outcomes(campaign_id: str, shared: Shared) -> Any:
    query = (
        select(Call.outcome, func.count())
        .where(
            *_plain_conditions(campaign_id, shared),
            Call.result == "human",
            Call.outcome.not_in(OUTCOMES),
        )
        .group_by(Call.outcome)
    )
    return query


def _shared_totals(campaign_id: str, shared: Shared) -> Select[Any]:
    """Shared numbers: each counted once through its first-ranked call, its verdict
    call joined for the structured output."""
    numbers = _numbers(campaign_id, shared)
    n = numbers.c
    first = n.rank == 1
    reached = or_(n.reached_out == 1, n.reached_in == 1)
    verdict = case((and_(first, reached), n.outcome), else_=None)
    inbound = n.direction == "inbound"
    return (
        select(
            verdict.label("verdict"),
            func.sum(_flag(and_(first, or_(n.called_out == 1, n.called_in == 1)))),
            func.sum(_flag(and_(first, reached))),
            func.sum(_flag(and_(first, n.reached_out == 1))),
            func.sum(_flag(and_(first, n.reached_in == 1))),
            func.sum(_flag(and_(first, n.reached_out == 1, n.reached_in == 1))),
            func.sum(_flag(and_(first, n.called_in == 1))),
            func.sum(case((inbound, 0), else_=n.attempts)),
            func.sum(_flag(inbound)),
            func.sum(_flag(verdict.is_not(None))),  # its real exchanges
        )
        .select_from(numbers)
        .group_by(verdict)
    )


async def totals(session: AsyncSession, campaign_id: str, shared: Shared) -> Totals:
    """The funnel, the effort, the outcome breakdown and the data-extraction coverage:
    one statement over the plain numbers (one outbound call each: plain aggregates over
    the index), one over the shared numbers (a window pass), both grouped by verdict
    outcome, added up."""
    result = Totals()
    plain = (await session.execute(_plain_totals(campaign_id, shared))).one()
    result.called = int(plain[0] or 0)
    result.reached = result.reached_outbound = int(plain[1] or 0)
    result.outbound_attempts = int(plain[2] or 0)
    for i, outcome in enumerate(OUTCOMES):
        if plain[4 + i]:
            result.by_outcome[outcome] = int(plain[4 + i])
    if plain[3]:
        for outcome, n in await session.execute(_plain_other_outcomes(campaign_id, shared)):
            result.by_outcome[str(outcome)] = int(n)
    if not isinstance(shared, list) or shared:
        for row in await session.execute(_shared_totals(campaign_id, shared)):
            result.called += int(row[1] or 0)
            result.reached += int(row[2] or 0)
            result.reached_outbound += int(row[3] or 0)
            result.reached_inbound += int(row[4] or 0)
            result.reached_both += int(row[5] or 0)
            result.unique_callers += int(row[6] or 0)
            result.outbound_attempts += int(row[7] or 0)
            result.inbound_calls += int(row[8] or 0)
            if row[0] is not None:
                outcome = str(row[0])
                result.by_outcome[outcome] = result.by_outcome.get(outcome, 0) + int(row[9] or 0)
    return result


async def activity_span(
    session: AsyncSession, campaign_id: str
) -> tuple[datetime | None, datetime | None]:
    """When the campaign's attempts first started and last did something (start, answer
    or end): two index seeks (migration 0010), whatever the number of attempts."""
    mine = _A.campaign_id == campaign_id
    first = select(func.min(_A.started_at)).where(mine).scalar_subquery()
    last = select(func.max(_ACTIVITY)).where(mine).scalar_subquery()
    span = (await session.execute(select(first, last))).one()
    return _timestamp(span[0]), _timestamp(span[1])


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
    shared: Shared,
    limit: int = LEADS_LIMIT,
) -> list[Lead]:
    """Numbers whose verdict is one of ``outcomes``: per outcome the ``limit`` whose
    verdict was recorded last (the verdict call's ``updated_at``), newest first, each
    with its verdict call's latest attempt and last activity.

    Per outcome, the newest ``limit`` plain verdicts and the newest ``limit`` shared
    ones (each an ORDER BY ... LIMIT, a bounded sort), merged here; then the details of
    the chosen calls in one statement."""
    on_shared = _verdicts(campaign_id, shared).c
    chosen: list[tuple[Any, str, str]] = []  # (updated_at, call_id, outcome)
    for outcome in outcomes:
        plain = (
            select(Call.updated_at, Call.id)
            .where(
                Call.campaign_id == campaign_id,
                Call.direction == "outbound",
                Call.outcome == outcome,
                Call.result == "human",
                Call.to_phone_number.not_in(shared),
            )
            .order_by(Call.updated_at.desc(), Call.id.desc())
            .limit(limit)
        )
        found = [(_timestamp(at), call_id) for at, call_id in await session.execute(plain)]
        if not isinstance(shared, list) or shared:
            on_numbers = (
                select(on_shared.updated_at, on_shared.call_id)
                .where(on_shared.outcome == outcome)
                .order_by(on_shared.updated_at.desc(), on_shared.call_id.desc())
                .limit(limit)
            )
            found += [(_timestamp(at), i) for at, i in await session.execute(on_numbers)]
        found.sort(key=lambda item: (item[0] or _EPOCH, item[1]), reverse=True)
        chosen += [(at, call_id, outcome) for at, call_id in found[:limit]]
    if not chosen:
        return []
    chosen.sort(key=lambda item: (item[0] or _EPOCH, item[1]), reverse=True)
    latest_attempt = (
        select(_A.id)
        .where(_A.call_id == Call.id)
        .order_by(_A.attempt_number.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = select(
        Call.id,
        latest_attempt.label("attempt_id"),
        Call.direction,
        _phone().label("phone"),
        Call.contact,
        func.coalesce(Call.outcome_summary, Call.summary).label("summary"),
        func.coalesce(_last_activity(Call.id), Call.updated_at).label("last_at"),
    ).where(Call.id.in_([call_id for _, call_id, _ in chosen]))
    details = {row.id: row for row in await session.execute(query)}
    return [
        Lead(
            call_id=call_id,
            attempt_id=row.attempt_id,
            outcome=outcome,
            direction=row.direction,
            phone=row.phone,
            contact=row.contact if isinstance(row.contact, dict) else None,
            summary=row.summary,
            last_activity_at=_timestamp(row.last_at),
        )
        for _, call_id, outcome in chosen
        if (row := details.get(call_id)) is not None
    ]


async def status_counts(session: AsyncSession, campaign_id: str) -> dict[str, int]:
    """The campaign's calls by status (its ``status`` word): a sum per known status in
    one pass over the covering index (a GROUP BY let SQLite walk the status index and
    read every row); any other value is grouped in a second statement. PostgreSQL groups
    them by a hash over the same index-only scan, three times faster than the sums."""
    where = Call.campaign_id == campaign_id
    if session.get_bind().dialect.name == "postgresql":
        grouped = select(Call.status, func.count()).where(where).group_by(Call.status)
        return {str(status): int(n) for status, n in await session.execute(grouped) if n}
    sums = [func.sum(_flag(Call.status == status)) for status in ORDER_STATUSES]
    row = (await session.execute(select(func.count(), *sums).where(where))).one()
    counts: dict[str, int] = {
        str(status): int(n or 0) for status, n in zip(ORDER_STATUSES, row[1:], strict=True)
    }
    if sum(counts.values()) != int(row[0] or 0):
        others = select(Call.status, func.count()).where(where, Call.status.not_in(ORDER_STATUSES))
        for status, n in await session.execute(others.group_by(Call.status)):
            counts[str(status)] = int(n)
    return {status: n for status, n in counts.items() if n}


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
    # "= true" (not "IS true"): the form the partial index ix_call_attempts_campaign_joined
    # names; the campaign is on the attempt (migration 0010).
    joined = [_A.campaign_id == campaign_id, _A.handled_by_human == True]  # noqa: E712
    timed = and_(_A.answered_at.is_not(None), _A.ended_at.is_not(None))
    counts = (
        await session.execute(select(func.count(), func.sum(_flag(timed))).where(*joined))
    ).one()
    count, n = int(counts[0] or 0), int(counts[1] or 0)
    duration = _seconds(session, _A.answered_at, _A.ended_at)
    median: float | None = None
    if n:
        middle = (
            select(duration.label("seconds"))
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
