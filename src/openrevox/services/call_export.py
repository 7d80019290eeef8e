"""``POST /call/export``: every matching call attempt as CSV, streamed (docs/calls.md).

Rows come from a server-side cursor in batches and leave in chunks of about
``CHUNK_CHARS``, so memory does not grow with the number of rows. The extra columns
(metadata keys, structured-output fields) must be known before the header is written:
a first streamed pass collects their names (memory grows with distinct names only).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.schemas.calls import CallExport
from openrevox.services import calls
from openrevox.services.auth import Principal
from openrevox.services.call_wire import CONTACT_FIELDS
from openrevox.services.wire_values import timestamp
from openrevox.storage.models import utcnow
from openrevox.storage.repositories import calls as repo
from openrevox.storage.repositories.calls import CallFilters, Sort

CHUNK_CHARS = 64 * 1024
COLUMNS = (
    "call_id",
    "call_status",
    "direction",
    "to_phone_number",
    "from_phone_number",
    "assistant_id",
    "assistant_name",
    "campaign_id",
    "created_at",
    "scheduled_at",
    "calls_count",
    "attempt_id",
    "attempt_number",
    "attempt_status",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_secs",
    "result",
    "dial_error",
    "ended_by",
    "end_reason",
    "outcome",
    "outcome_summary",
    *CONTACT_FIELDS,
    "recording_url",
    "transcript",
)
METADATA_PREFIX = "metadata."
OUTPUT_PREFIX = "structured_output."


@dataclass(frozen=True)
class ExportPlan:
    """A validated export, ready to stream (checked before the response starts)."""

    filters: CallFilters
    sort: Sort
    include_metadata: bool
    include_structured_output: bool
    filename: str


async def plan(session: AsyncSession, principal: Principal, body: CallExport) -> ExportPlan:
    filters = await calls.search_filters(session, principal, body.filters)
    return ExportPlan(
        filters=filters,
        sort=calls.search_sort(body.filters),
        include_metadata=body.include_metadata,
        include_structured_output=body.include_structured_output_fields,
        filename=f"calls-{utcnow():%Y%m%d-%H%M%S}.csv",
    )


async def csv_chunks(session: AsyncSession, export: ExportPlan) -> AsyncIterator[str]:
    """The CSV text: a header row, then one row per attempt (or per call not dialled)."""
    metadata_keys: set[str] = set()
    output_keys: set[str] = set()
    if export.include_metadata or export.include_structured_output:
        async for row in repo.stream_output_keys(
            session,
            export.filters,
            metadata=export.include_metadata,
            structured_output=export.include_structured_output,
        ):
            if export.include_metadata:
                metadata_keys.update(row.metadata or {})
            if export.include_structured_output:
                output_keys.update(row.call_structured_output or {})
                output_keys.update(row.attempt_structured_output or {})
                output_keys.update(
                    spec["name"] for spec in row.output_config or [] if isinstance(spec, dict)
                )
    metadata_columns = sorted(metadata_keys)
    output_columns = sorted(output_keys)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            *COLUMNS,
            *(METADATA_PREFIX + k for k in metadata_columns),
            *(OUTPUT_PREFIX + k for k in output_columns),
        ]
    )
    async for row in repo.stream_export_rows(session, export.filters, export.sort):
        writer.writerow(_cells(row, metadata_columns, output_columns))
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def json_envelope(filename: str, chunks: AsyncIterator[str]) -> AsyncIterator[bytes]:
    """``{"filename": ..., "csv": ...}`` (the SDK's ``CallExportResponse``), streamed:
    each CSV chunk is escaped as the inside of one JSON string."""
    yield b'{"filename":' + orjson.dumps(filename) + b',"csv":"'
    async for chunk in chunks:
        if chunk:
            yield orjson.dumps(chunk)[1:-1]
    yield b'"}'


def _cells(row: Row[Any], metadata_columns: list[str], output_columns: list[str]) -> list[str]:
    contact = row.contact or {}
    values: list[Any] = [
        row.call_id,
        row.call_status,
        row.direction,
        row.to_phone_number,
        row.from_phone_number,
        row.assistant_id,
        row.assistant_name,
        row.campaign_id,
        row.created_at,
        row.scheduled_at,
        row.calls_count,
        row.attempt_id,
        row.attempt_number,
        row.attempt_status,
        row.started_at,
        row.answered_at,
        row.ended_at,
        _duration(row.answered_at, row.ended_at),
        row.result,
        row.dial_error,
        row.ended_by,
        row.end_reason,
        row.outcome,
        row.outcome_summary,
        *(contact.get(name) for name in CONTACT_FIELDS),
        row.recording_url,
        _transcript_text(row.transcript),
    ]
    metadata = row.metadata or {}
    values += [metadata.get(k) for k in metadata_columns]
    output = row.attempt_structured_output
    if output is None:
        output = row.call_structured_output or {}
    values += [output.get(k) for k in output_columns]
    return [_text(v) for v in values]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return timestamp(value) or ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _duration(answered_at: datetime | None, ended_at: datetime | None) -> float | None:
    """Talk time: from the answer to the end (empty when never answered)."""
    if answered_at is None or ended_at is None:
        return None
    return round((ended_at - answered_at).total_seconds(), 3)


def _transcript_text(entries: Iterable[Mapping[str, Any]] | None) -> str:
    """One ``role: content`` line per entry; tool calls show their name."""
    lines = []
    for entry in entries or []:
        role = entry.get("role", "")
        if role == "tool":
            role = f"tool {entry.get('tool_name') or ''}".strip()
        lines.append(f"{role}: {entry.get('content', '')}")
    return "\n".join(lines)
