"""Auth and account endpoints, on every backend."""

from __future__ import annotations

from tests.integration.conftest import Api


async def test_auth_status_with_valid_key(api: Api) -> None:
    response = await api.client.get("/auth-status")
    assert response.status_code == 200
    assert response.json() == {"authenticated": True}


async def test_missing_and_unknown_keys_are_401_in_the_error_shape(api: Api) -> None:
    missing = await api.anonymous.get("/assistants")
    unknown = await api.anonymous.get("/assistants", headers={"Authorization": "Bearer orx_nope"})
    malformed = await api.anonymous.get("/assistants", headers={"Authorization": "Basic abc"})
    for response in (missing, unknown, malformed):
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "unauthenticated"
        assert error["message"]


async def test_users_me_carries_organization_country(api: Api) -> None:
    response = await api.client.get("/users/me")
    assert response.status_code == 200
    user = response.json()["user"]
    assert user["email"] == "owner@acme.test"
    assert user["organization_country"] == "FR"
    assert user["has_completed_onboarding"] is False
