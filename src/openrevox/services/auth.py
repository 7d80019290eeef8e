"""API keys: issue, authenticate, revoke. Keys are shown once and stored as digests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.errors import NotFound, Unauthenticated
from openrevox.storage.models import ApiKey, Organization, User, utcnow
from openrevox.storage.repositories import api_keys, organizations

KEY_PREFIX = "orx_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: every query is scoped to ``organization_id``."""

    organization_id: str
    user_id: str
    api_key_id: str


@dataclass(frozen=True)
class IssuedKey:
    key: str
    api_key: ApiKey
    organization: Organization
    user: User
    created_organization: bool
    created_user: bool


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_bearer(header: str | None) -> str:
    if not header:
        raise Unauthenticated("missing Authorization header: send 'Authorization: Bearer <key>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <key>'")
    return token.strip()


def unknown_key() -> Unauthenticated:
    return Unauthenticated("unknown or revoked API key")


async def authenticate(session: AsyncSession, key: str) -> Principal:
    """Checked on every request, never cached: a key revoked (by the CLI, from another
    process) is refused from the next request on."""
    found = await api_keys.active_by_hash(session, digest(key))
    if found is None:
        raise unknown_key()
    return Principal(found.organization_id, found.user_id, found.id)


async def issue_key(
    session: AsyncSession, *, organization_name: str, email: str, country: str
) -> IssuedKey:
    """Create a key, creating the organization and the user when they are missing."""
    organization = await organizations.by_name(session, organization_name)
    created_organization = organization is None
    if organization is None:
        organization = await organizations.add(session, organization_name, country)
    user = await organizations.user_by_email(session, organization.id, email)
    created_user = user is None
    if user is None:
        user = await organizations.add_user(session, organization.id, email)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    stored = await api_keys.add(
        session,
        organization_id=organization.id,
        user_id=user.id,
        key_hash=digest(key),
        prefix=key[:12],
    )
    return IssuedKey(key, stored, organization, user, created_organization, created_user)


async def revoke_key(session: AsyncSession, ident: str) -> ApiKey:
    """Revoke by key id or by the prefix ``keys list`` shows."""
    matches = await api_keys.by_id_or_prefix(session, ident)
    if not matches:
        raise NotFound(f"no API key with id or prefix {ident!r}")
    if len(matches) > 1:
        raise NotFound(f"{ident!r} matches {len(matches)} keys; give the key id")
    key = matches[0]
    if key.revoked_at is None:
        await api_keys.revoke(key, utcnow())
    return key
