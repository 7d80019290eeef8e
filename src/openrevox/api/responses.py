"""Fast JSON responses: payloads are built as plain data and encoded once with orjson.
And CSV exports, streamed as the bare file or in the SDK's ``{"filename", "csv"}`` JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.services import call_export
from openrevox.storage.database import Database


class WireJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def csv_export(
    request: Request,
    db: Database,
    filename: str,
    chunks: Callable[[AsyncSession], AsyncIterator[str]],
) -> StreamingResponse:
    """``chunks`` read in a transaction of their own while streaming: the bare file with
    ``Accept: text/csv``, else the SDK's ``{"filename", "csv"}`` JSON."""
    bare = "text/csv" in request.headers.get("accept", "")

    async def content() -> AsyncIterator[bytes]:
        async with db.read() as session:
            text = chunks(session)
            if bare:
                async for chunk in text:
                    yield chunk.encode()
            else:
                async for data in call_export.json_envelope(filename, text):
                    yield data

    if bare:
        return StreamingResponse(
            content(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return StreamingResponse(content(), media_type="application/json")
