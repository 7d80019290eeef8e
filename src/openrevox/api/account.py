"""``GET /auth-status`` and ``GET /users/me``."""

from __future__ import annotations

from fastapi import APIRouter

from openrevox.api.deps import Caller, Db
from openrevox.api.responses import WireJSON
from openrevox.errors import NotFound
from openrevox.schemas.account import AuthStatus, UserEnvelope
from openrevox.services.wire_values import timestamp
from openrevox.storage.repositories import organizations

router = APIRouter(tags=["account"])


@router.get("/auth-status", response_model=AuthStatus, response_class=WireJSON)
async def auth_status(_: Caller) -> WireJSON:
    """Whether the API key is valid (an unknown or revoked key answers 401)."""
    return WireJSON({"authenticated": True})


@router.get("/users/me", response_model=UserEnvelope, response_class=WireJSON)
async def me(caller: Caller, db: Db) -> WireJSON:
    """The user the API key belongs to, with the organization's country."""
    async with db.read() as session:
        user = await organizations.get_user(session, caller.user_id)
        organization = await organizations.get(session, caller.organization_id)
    if user is None or organization is None:
        raise NotFound("the user of this API key no longer exists")
    return WireJSON(
        {
            "user": {
                "id": user.id,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "has_completed_onboarding": user.has_completed_onboarding,
                "organization_id": user.organization_id,
                "organization_country": organization.country,
                "created_at": timestamp(user.created_at),
                "updated_at": timestamp(user.updated_at),
            }
        }
    )
