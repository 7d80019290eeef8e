"""``client.auth_status.retrieve`` and ``client.users.retrieve`` (SDK 0.5.0)."""

from __future__ import annotations

from revox import AsyncRevox, Revox

from tests.conformance.bodies import timestamp
from tests.conformance.conftest import OTHER_EMAIL, OWNER_EMAIL


def test_auth_status_says_authenticated(client: Revox) -> None:
    assert client.auth_status.retrieve().authenticated is True


async def test_auth_status_async(aclient: AsyncRevox) -> None:
    assert (await aclient.auth_status.retrieve()).authenticated is True


def test_users_retrieve_is_the_key_owner(client: Revox, other_client: Revox) -> None:
    user = client.users.retrieve().user
    assert user.email == OWNER_EMAIL
    assert user.id
    assert user.organization_id
    assert isinstance(user.has_completed_onboarding, bool)
    assert user.organization_country is not None and len(user.organization_country) == 2
    assert timestamp(user.updated_at) >= timestamp(user.created_at)
    other = other_client.users.retrieve().user
    assert other.email == OTHER_EMAIL
    assert other.organization_id != user.organization_id


async def test_users_retrieve_async(aclient: AsyncRevox, client: Revox) -> None:
    user = (await aclient.users.retrieve()).user
    assert user.to_dict() == client.users.retrieve().user.to_dict()
