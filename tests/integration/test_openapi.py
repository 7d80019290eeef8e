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


async def test_bodies_checked_off_the_loop_are_described(api: Api) -> None:
    """POST /campaigns and launch-calls read their bodies themselves (api/bodies.py);
    their schemas, and every schema those refer to, are still in the description."""
    spec = (await api.anonymous.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for path, model in (
        ("/campaigns", "CampaignCreate"),
        ("/campaigns/{campaign_id}/launch-calls", "CampaignLaunch"),
    ):
        body = spec["paths"][path]["post"]["requestBody"]
        assert body["required"] is True
        ref = body["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{model}"
    assert schemas["CampaignCreate"]["properties"]["contacts"]["maxItems"] == 100_000
    assert "to_phone_number" in schemas["ContactIn"]["properties"]
    text = str(spec)
    refs = {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}
    assert refs <= set(schemas), refs - set(schemas)
