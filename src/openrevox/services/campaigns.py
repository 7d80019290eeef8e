"""Campaign use cases: create with contacts, read, update, launch, pause, resume, cancel,
delete, rows (docs/campaigns.md).

A campaign's contacts are calls of ``calls`` (``campaign_id``), each with a row of
``campaign_rows`` keeping the contact as given. Every action on the campaign's calls
runs in the caller's one transaction, with the campaign row locked, as conditional
updates or on locked call rows: it applies to all of them or to none.

This module creates and reads; the rest lives by concern and is re-exported here:
``campaign_contacts`` (rows checked and made into calls), ``campaign_launch``,
``campaign_actions`` (update, pause, resume, cancel, delete), ``campaign_wire``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.identifiers import is_resource_id
from openrevox.errors import FieldError, InvalidInput, NotFound
from openrevox.schemas.campaigns import CampaignCreate
from openrevox.services import assistants, phone_numbers
from openrevox.services import calls as call_service
from openrevox.services.auth import Principal
from openrevox.services.call_snapshots import required_variables, stored_snapshot
from openrevox.services.campaign_actions import cancel, delete, pause, resume, update
from openrevox.services.campaign_contacts import (
    ContactCheck,
    add_contacts,
    organization_country,
    parse_phone,
)
from openrevox.services.campaign_launch import LaunchOutcome, launch, launch_all, legacy_launch
from openrevox.services.campaign_wire import (
    CampaignView,
    RowView,
    campaign_status,
    load_view,
    load_views,
    require_campaign,
    row_stats,
    row_wire,
    to_wire,
)
from openrevox.storage.models import Campaign, new_id, utcnow
from openrevox.storage.repositories import calls as call_repo
from openrevox.storage.repositories import campaigns as repo
from openrevox.storage.repositories.calls import CallFilters

__all__ = [
    "CampaignView",
    "LaunchOutcome",
    "RowView",
    "campaign_status",
    "cancel",
    "create",
    "delete",
    "get",
    "launch",
    "legacy_launch",
    "listing",
    "pause",
    "resume",
    "row_stats",
    "row_wire",
    "rows",
    "to_wire",
    "update",
]

# ---- create ----


async def create(
    session: AsyncSession, principal: Principal, body: CampaignCreate, *, launch: bool = False
) -> CampaignView:
    """The campaign, one ``not_launched`` call per contact and its row; every contact
    checked, a problem anywhere a 400 naming each bad row, and nothing kept (the
    contacts are inserted as they are checked, in the caller's transaction)."""
    if is_resource_id(body.assistant_id):
        await call_repo.hold_assistant(session, body.assistant_id)
    try:
        view = await assistants.get(session, principal, body.assistant_id)
    except NotFound as exc:
        raise NotFound(f"assistant_id: {exc.message}") from None
    snapshot = stored_snapshot(assistants.to_wire(view), view.assistant.config)
    retry_config = (
        body.call_retry_config.model_dump(mode="json") if body.call_retry_config else None
    )
    if retry_config is not None:
        snapshot["call_retry_config"] = retry_config
    country = await organization_country(session, principal)
    errors: list[FieldError] = []
    from_phone_number = None
    if body.from_phone_number:
        from_phone_number = parse_phone(
            body.from_phone_number, country, "from_phone_number", errors
        )
    try:
        await phone_numbers.require_owned(
            session, principal.organization_id, from_phone_number, "from_phone_number"
        )
    except InvalidInput as exc:
        errors.extend(exc.fields)
    now = utcnow()
    campaign = Campaign(
        id=new_id(),
        organization_id=principal.organization_id,
        assistant_id=view.assistant.id,
        name=body.name,
        call_retry_config=retry_config,
        from_phone_number=from_phone_number,
        max_concurrent_calls=body.max_concurrent_calls,
        scheduled_at=body.scheduled_at,
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    check = ContactCheck(country, required_variables(snapshot), errors)
    if not errors:  # else the contacts are only checked, for the one 400 naming them all
        await repo.add(session, campaign)
    await add_contacts(session, campaign, body.contacts, check, snapshot)
    if launch:  # SDK 0.1.1-0.3.0: launch at once
        await launch_all(session, campaign, body.scheduled_at, now)
    return await load_view(session, campaign)


# ---- read ----


async def get(session: AsyncSession, principal: Principal, campaign_id: str) -> CampaignView:
    return await load_view(session, await require_campaign(session, principal, campaign_id))


async def listing(session: AsyncSession, principal: Principal) -> list[CampaignView]:
    campaigns = await repo.listing(session, principal.organization_id)
    return await load_views(session, campaigns)


async def rows(
    session: AsyncSession,
    principal: Principal,
    campaign_id: str,
    *,
    page: int,
    page_size: int,
    statuses: Sequence[str] = (),
    outcomes: Sequence[str] = (),
    results: Sequence[str] = (),
    query: str | None = None,
) -> tuple[list[RowView], int]:
    """A page of the campaign's rows in row order, each with its call; and how many match."""
    campaign = await require_campaign(session, principal, campaign_id)
    filters = CallFilters(
        organization_id=principal.organization_id,
        campaign_ids=[campaign.id],
        statuses=statuses,
        outcomes=outcomes,
        results=results,
        query=(query or "").strip() or None,
    )
    pairs = await repo.rows_page(
        session, campaign.id, filters, offset=page * page_size, limit=page_size
    )
    total = await repo.rows_count(session, campaign.id, filters)
    views = await call_service._views(session, [call for _, call in pairs])
    return [RowView(row, view) for (row, _), view in zip(pairs, views, strict=True)], total
