"""``/auth-status`` and ``/users/me`` responses."""

from __future__ import annotations

from openrevox.schemas.common import WireModel


class AuthStatus(WireModel):
    authenticated: bool


class UserOut(WireModel):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    has_completed_onboarding: bool
    organization_id: str
    organization_country: str | None = None
    created_at: str
    updated_at: str


class UserEnvelope(WireModel):
    user: UserOut
