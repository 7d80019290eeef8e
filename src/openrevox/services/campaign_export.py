"""``GET /campaigns/{id}/export``: one CSV line per row, streamed (docs/campaigns.md).

Like ``services.call_export``: rows come from a server-side cursor in batches and leave
in chunks of about ``CHUNK_CHARS``; the variable and structured-output column names are
first listed by the database, each once (memory grows with distinct names only).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.services import campaigns
from openrevox.services.auth import Principal
from openrevox.services.call_export import CHUNK_CHARS, OUTPUT_PREFIX, _text
from openrevox.storage.models import utcnow
from openrevox.storage.repositories import campaigns as repo

COLUMNS = (
    "row_index",
    "phone_number",
    "call_id",
    "call_status",
    "result",
    "outcome",
    "outcome_summary",
    "summary",
    "calls_count",
)
VARIABLE_PREFIX = "input."
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ExportPlan:
    campaign_id: str
    filename: str


async def plan(session: AsyncSession, principal: Principal, campaign_id: str) -> ExportPlan:
    """Checked before the response starts: an unknown campaign is a 404, not a broken stream."""
    view = await campaigns.get(session, principal, campaign_id)
    name = _UNSAFE.sub("-", view.campaign.name).strip("-")[:60] or "campaign"
    return ExportPlan(view.campaign.id, f"{name}-{utcnow():%Y%m%d-%H%M%S}.csv")


async def csv_chunks(session: AsyncSession, export: ExportPlan) -> AsyncIterator[str]:
    """A header, then one line per row in row order: the contact (number, each input
    variable), its call (status, result, outcome, summaries, attempts) and one column
    per structured-output field."""
    keys = await repo.export_keys(session, export.campaign_id)
    output_keys = set(keys.outputs)
    for config in keys.output_configs:
        output_keys.update(
            spec["name"]
            for spec in config or []
            if isinstance(spec, dict) and isinstance(spec.get("name"), str)
        )
    variables = sorted(keys.variables)
    outputs = sorted(output_keys)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            *COLUMNS,
            *(_variable_column(k) for k in variables),
            *(OUTPUT_PREFIX + k for k in outputs),
        ]
    )
    async for batch in repo.stream_export_rows(session, export.campaign_id):
        for row in batch:
            writer.writerow(_cells(row, variables, outputs))
            if buffer.tell() >= CHUNK_CHARS:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def _variable_column(name: str) -> str:
    """An input variable's column: its name, prefixed when it would clash with another."""
    clash = name in COLUMNS or name.startswith((OUTPUT_PREFIX, VARIABLE_PREFIX))
    return VARIABLE_PREFIX + name if clash else name


def _cells(row: Row[Any], variables: list[str], outputs: list[str]) -> list[str]:
    values: list[Any] = [
        row.row_index,
        row.phone_number,
        row.call_id,
        row.status,
        row.result,
        row.outcome,
        row.outcome_summary,
        row.summary,
        row.calls_count,
    ]
    data = row.input_data if isinstance(row.input_data, dict) else {}
    values += [data.get(k) for k in variables]
    output = row.structured_output if isinstance(row.structured_output, dict) else {}
    values += [output.get(k) for k in outputs]
    return [_text(v) for v in values]
