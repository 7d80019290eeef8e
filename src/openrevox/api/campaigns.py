"""``/campaigns``: every method of ``client.campaigns`` in SDK 0.5.0 but ``statistics``
(``api/campaign_statistics.py``), plus SDK 0.3.0's ``POST /campaigns/{id}/launch``."""

from __future__ import annotations

from functools import partial
from typing import Annotated, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from openrevox.api.bodies import json_body, validated_off_loop
from openrevox.api.calls import SdkCompat
from openrevox.api.deps import Caller, Db
from openrevox.api.responses import WireJSON, csv_export
from openrevox.domain.scheduling.states import ORDER_STATUSES
from openrevox.errors import InvalidInput
from openrevox.schemas.assistants import Success
from openrevox.schemas.calls import MAX_PAGE_SIZE, OutcomeSearch, ResultSearch
from openrevox.schemas.campaigns import (
    CampaignCreate,
    CampaignEnvelope,
    CampaignExportOut,
    CampaignLaunch,
    CampaignList,
    CampaignUpdate,
    LaunchResult,
    RowPage,
)
from openrevox.services import campaign_export
from openrevox.services import campaigns as service

router = APIRouter(tags=["campaigns"])

_OUTCOMES = set(get_args(OutcomeSearch))
_RESULTS = set(get_args(ResultSearch))


@router.post(
    "/campaigns",
    response_model=CampaignEnvelope,
    response_class=WireJSON,
    status_code=201,
    openapi_extra=json_body(CampaignCreate),
)
async def create_campaign(request: Request, caller: Caller, db: Db, compat: SdkCompat) -> WireJSON:
    """Every contact becomes a call in ``not_launched``; all rows are checked first.

    Up to 100,000 contacts: the body is parsed and checked in a worker thread (bodies.py)."""
    body = await validated_off_loop(request, CampaignCreate)
    # SDK 0.1.1 has no launch method: its campaigns launch when created.
    legacy = compat.version is not None and compat.version < (0, 2, 0)
    launch = body.launch if body.launch is not None else legacy
    async with db.write() as session:
        view = await service.create(session, caller, body, launch=launch)
    return WireJSON({"campaign": service.to_wire(view, compat)}, status_code=201)


@router.get("/campaigns", response_model=CampaignList, response_class=WireJSON)
async def list_campaigns(caller: Caller, db: Db, compat: SdkCompat) -> WireJSON:
    async with db.read() as session:
        views = await service.listing(session, caller)
    return WireJSON({"campaigns": [service.to_wire(v, compat) for v in views]})


@router.get("/campaigns/{campaign_id}", response_model=CampaignEnvelope, response_class=WireJSON)
async def get_campaign(campaign_id: str, caller: Caller, db: Db, compat: SdkCompat) -> WireJSON:
    async with db.read() as session:
        view = await service.get(session, caller, campaign_id)
    return WireJSON({"campaign": service.to_wire(view, compat)})


@router.patch("/campaigns/{campaign_id}", response_model=CampaignEnvelope, response_class=WireJSON)
async def update_campaign(
    campaign_id: str, body: CampaignUpdate, caller: Caller, db: Db, compat: SdkCompat
) -> WireJSON:
    """Applied to the campaign's calls that are not over yet."""
    async with db.write() as session:
        view = await service.update(session, caller, campaign_id, body)
    return WireJSON({"campaign": service.to_wire(view, compat)})


@router.delete("/campaigns/{campaign_id}", response_model=Success, response_class=WireJSON)
async def delete_campaign(campaign_id: str, caller: Caller, db: Db) -> WireJSON:
    """Archives; calls not started are cancelled. 409 while a call is in progress."""
    async with db.write() as session:
        await service.delete(session, caller, campaign_id)
    return WireJSON({"success": True})


@router.post(
    "/campaigns/{campaign_id}/launch-calls",
    response_model=LaunchResult,
    response_class=WireJSON,
    openapi_extra=json_body(CampaignLaunch),
)
async def launch_calls(campaign_id: str, request: Request, caller: Caller, db: Db) -> WireJSON:
    """Plan the selected calls (``ai_first``); counts launched and skipped ones. A selection
    may name up to 100,000 calls: the body is checked in a worker thread (bodies.py)."""
    body = await validated_off_loop(request, CampaignLaunch)
    async with db.write() as session:
        outcome = await service.launch(session, caller, campaign_id, body)
    return WireJSON(outcome.to_wire())


@router.post(
    "/campaigns/{campaign_id}/launch", response_model=CampaignEnvelope, response_class=WireJSON
)
async def legacy_launch(campaign_id: str, caller: Caller, db: Db, compat: SdkCompat) -> WireJSON:
    """SDK 0.3.0: launch a draft campaign, every call."""
    async with db.write() as session:
        view = await service.legacy_launch(session, caller, campaign_id)
    return WireJSON({"campaign": service.to_wire(view, compat)})


@router.post("/campaigns/{campaign_id}/pause", response_model=Success, response_class=WireJSON)
async def pause_campaign(campaign_id: str, caller: Caller, db: Db) -> WireJSON:
    async with db.write() as session:
        await service.pause(session, caller, campaign_id)
    return WireJSON({"success": True})


@router.post("/campaigns/{campaign_id}/resume", response_model=Success, response_class=WireJSON)
async def resume_campaign(campaign_id: str, caller: Caller, db: Db) -> WireJSON:
    async with db.write() as session:
        await service.resume(session, caller, campaign_id)
    return WireJSON({"success": True})


@router.post("/campaigns/{campaign_id}/cancel", response_model=Success, response_class=WireJSON)
async def cancel_campaign(campaign_id: str, caller: Caller, db: Db) -> WireJSON:
    async with db.write() as session:
        await service.cancel(session, caller, campaign_id)
    return WireJSON({"success": True})


def _split(values: list[str] | None, allowed: set[str], name: str) -> list[str]:
    wanted = [s.strip() for text in values or [] for s in text.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in allowed]
    if unknown:
        raise InvalidInput.at(
            name, f"unknown value {unknown[0]!r}; one of {', '.join(sorted(allowed))}"
        )
    return wanted


@router.get("/campaigns/{campaign_id}/rows", response_model=RowPage, response_class=WireJSON)
async def get_rows(
    campaign_id: str,
    caller: Caller,
    db: Db,
    compat: SdkCompat,
    page: Annotated[int, Query(ge=0, le=1_000_000, description="Starting at 0.")] = 0,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    statuses: Annotated[list[str] | None, Query(description="Comma-separated")] = None,
    outcomes: Annotated[list[str] | None, Query(description="Comma-separated")] = None,
    results: Annotated[list[str] | None, Query(description="Comma-separated")] = None,
    query: Annotated[str | None, Query(max_length=500)] = None,
    result: Annotated[
        str | None, Query(description="SDK 0.1.1: one result, `none`, or `all` (no filter)")
    ] = None,
) -> WireJSON:
    """The campaign's rows in row order, each with its call; filters as in call search."""
    if result and result != "all":
        results = [*(results or []), result]
    async with db.read() as session:
        rows, total = await service.rows(
            session,
            caller,
            campaign_id,
            page=page,
            page_size=page_size,
            statuses=_split(statuses, set(ORDER_STATUSES), "statuses"),
            outcomes=_split(outcomes, _OUTCOMES, "outcomes"),
            results=_split(results, _RESULTS, "results"),
            query=query,
        )
    return WireJSON(
        {
            "rows": [service.row_wire(r, compat) for r in rows],
            "total_count": total,
            # SDK 0.1.1's paging fields.
            "page": page,
            "page_size": page_size,
            "total": total,
        }
    )


@router.get(
    "/campaigns/{campaign_id}/export",
    response_model=CampaignExportOut,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_rows(
    campaign_id: str, caller: Caller, db: Db, request: Request
) -> StreamingResponse:
    """Every row as CSV, streamed: in the SDK's ``{"filename", "csv"}`` JSON, or as the
    bare file with ``Accept: text/csv``."""
    async with db.read() as session:
        plan = await campaign_export.plan(session, caller, campaign_id)
    return csv_export(request, db, plan.filename, partial(campaign_export.csv_chunks, export=plan))
