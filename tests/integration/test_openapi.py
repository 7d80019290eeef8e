"""The OpenAPI description and docs page describe our schemas."""

from __future__ import annotations

from tests.integration.conftest import Api


async def test_openapi_lists_every_assistant_method(api: Api) -> None:
    spec = (await api.anonymous.get("/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths["/assistants"]) == {"get", "post"}
    assert set(paths["/assistants/{assistant_id}"]) == {"get", "patch", "delete"}
    assert "post" in paths["/assistants/{assistant_id}/clone"]
    assert "get" in paths["/auth-status"] and "get" in paths["/users/me"]
    schemas = spec["components"]["schemas"]
    update = schemas["AssistantUpdate"]["properties"]
    for field in ("prompt", "voice", "call_retry_config", "transfer_destinations", "faq_items"):
        assert field in update
    assert "pending_faq_count" in schemas["AssistantOut"]["properties"]


async def test_docs_page_is_served(api: Api) -> None:
    response = await api.anonymous.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
