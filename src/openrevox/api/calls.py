"""``/call``: every method of ``client.call`` in SDK 0.5.0, plus SDK 0.1.1's ``GET /call``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from openrevox.api.deps import Caller, Db
from openrevox.api.responses import WireJSON, csv_export
from openrevox.domain.scheduling import UserAction
from openrevox.domain.scheduling.states import ORDER_STATUSES
from openrevox.errors import InvalidInput
from openrevox.schemas.assistants import Success
from openrevox.schemas.calls import (
    MAX_PAGE_SIZE,
    CallCreate,
    CallEnvelope,
    CallExport,
    CallExportOut,
    CallSearch,
    CallSearchResult,
    LegacyCallList,
    PhoneHistory,
)
from openrevox.services import call_export, call_wire
from openrevox.services import calls as service
from openrevox.services.call_wire import Compat

router = APIRouter(tags=["calls"])

SDK_VERSION_HEADER = "x-stainless-package-version"


def sdk_compat(request: Request) -> Compat:
    """What the calling SDK version can read (docs/calls.md, older SDKs)."""
    return Compat.from_header(request.headers.get(SDK_VERSION_HEADER))


SdkCompat = Annotated[Compat, Depends(sdk_compat)]


@router.post("/call", response_model=CallEnvelope, response_class=WireJSON, status_code=201)
async def create_call(body: CallCreate, caller: Caller, db: Db, compat: SdkCompat) -> WireJSON:
    """Place a call order: ``scheduled``, or ``queued_for_calling`` when due now."""
    async with db.write() as session:
        view = await service.create(session, caller, body)
    return WireJSON({"call": call_wire.to_wire(view, compat)}, status_code=201)


@router.get("/call", response_model=LegacyCallList, response_class=WireJSON)
async def list_calls(
    caller: Caller,
    db: Db,
    compat: SdkCompat,
    page: Annotated[int, Query(ge=0, le=1_000_000, description="Starting at 0.")] = 0,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    statuses: Annotated[list[str] | None, Query(description="Comma-separated")] = None,
) -> WireJSON:
    """SDK 0.1.1: the organization's calls, newest first, each as its latest attempt."""
    wanted = [s.strip() for text in statuses or [] for s in text.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in ORDER_STATUSES]
    if unknown:
        raise InvalidInput.at(
            "statuses", f"unknown status {unknown[0]!r}; one of {', '.join(ORDER_STATUSES)}"
        )
    async with db.read() as session:
        views = await service.legacy_list(
            session,
            caller,
            page=page,
            page_size=page_size,
            statuses=wanted,
            compat=compat if compat.version else call_wire.LEGACY_0_1,
        )
    return WireJSON({"calls": [call_wire.legacy_entry(v) for v in views]})


@router.post("/call/search", response_model=CallSearchResult, response_class=WireJSON)
async def search_calls(body: CallSearch, caller: Caller, db: Db, compat: SdkCompat) -> WireJSON:
    """A page of calls matching every filter (empty lists filter nothing), with the total."""
    async with db.read() as session:
        views, total = await service.search(session, caller, body)
    return WireJSON({"calls": [call_wire.to_wire(v, compat) for v in views], "total_count": total})


@router.post(
    "/call/export",
    response_model=CallExportOut,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_calls(
    body: CallExport, caller: Caller, db: Db, request: Request
) -> StreamingResponse:
    """Every call attempt matching the filters as CSV (paging ignored), streamed: in the
    SDK's ``{"filename", "csv"}`` JSON, or as the bare file with ``Accept: text/csv``."""
    async with db.read() as session:
        plan = await call_export.plan(session, caller, body)
    return csv_export(request, db, plan.filename, partial(call_export.csv_chunks, export=plan))


@router.get("/calls/phone-history", response_model=PhoneHistory, response_class=WireJSON)
async def phone_history(caller: Caller, db: Db) -> WireJSON:
    """Per number the organization called: how often, the last outcome, and flags."""
    async with db.read() as session:
        history = await service.phone_history(session, caller)
    return WireJSON({"phone_history": call_wire.phone_history_wire(history)})


@router.get("/call/{call_id}", response_model=CallEnvelope, response_class=WireJSON)
async def get_call(call_id: str, caller: Caller, db: Db, compat: SdkCompat) -> WireJSON:
    async with db.read() as session:
        view = await service.get(session, caller, call_id)
    return WireJSON({"call": call_wire.to_wire(view, compat)})


async def _act(call_id: str, action: UserAction, caller: Caller, db: Db) -> WireJSON:
    async with db.write() as session:
        await service.act(session, caller, call_id, action)
    return WireJSON({"success": True})


@router.post("/call/{call_id}/cancel", response_model=Success, response_class=WireJSON)
async def cancel_call(call_id: str, caller: Caller, db: Db) -> WireJSON:
    """No attempt starts any more; a live one is hung up by the dispatcher."""
    return await _act(call_id, "cancel", caller, db)


@router.post("/call/{call_id}/pause", response_model=Success, response_class=WireJSON)
async def pause_call(call_id: str, caller: Caller, db: Db) -> WireJSON:
    """A live attempt finishes; no new one starts until resume."""
    return await _act(call_id, "pause", caller, db)


@router.post("/call/{call_id}/resume", response_model=Success, response_class=WireJSON)
async def resume_call(call_id: str, caller: Caller, db: Db) -> WireJSON:
    """The next attempt is planned again, inside the calling windows."""
    return await _act(call_id, "resume", caller, db)
