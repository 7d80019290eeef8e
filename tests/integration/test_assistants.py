"""The assistants API on every backend: defaults, partial updates, isolation, archive, clone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from openrevox.storage.models import Assistant, FaqItem
from tests.integration.conftest import Api, own_numbers

BASE = {"name": "Sales", "prompt": "You call {{first_name}} about {{company}}."}


async def create(api: Api, **fields: Any) -> dict[str, Any]:
    response = await api.client.post("/assistants", json={**BASE, **fields})
    assert response.status_code == 201, response.text
    assistant: dict[str, Any] = response.json()["assistant"]
    return assistant


async def count_rows(api: Api, model: type[Any]) -> int:
    async with api.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_create_applies_documented_defaults(api: Api) -> None:
    assistant = await create(api)
    assert assistant["name"] == "Sales"
    assert assistant["type"] == "standalone"
    assert assistant["first_sentence_delay_ms"] == 400
    assert assistant["first_sentence_mode"] == "generated"
    assert assistant["stt_model"] == "stt-rt-v5"
    assert assistant["llm_model"] == {"type": "dedicated-instance", "name": "gpt-4.1"}
    retry = assistant["call_retry_config"]
    assert retry["allowed_days"] == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert retry["calling_windows"] == [
        {
            "calling_window_start_time": "10:00",
            "calling_window_end_time": "18:00",
            "retry_delay_seconds": 7200,
        }
    ]
    assert retry["max_retry_attempts"] == 3
    assert retry["call_twice_in_a_row"] is False
    assert assistant["faq_items"] == [] and assistant["pending_faq_count"] == 0
    assert assistant["created_by"]["email"] == "owner@acme.test"
    assert assistant["email_notification_language"] == "en"


async def test_retrieve_is_bare_and_list_is_wrapped(api: Api) -> None:
    created = await create(api)
    retrieved = (await api.client.get(f"/assistants/{created['id']}")).json()
    assert retrieved == created
    listed = (await api.client.get("/assistants")).json()
    assert [a["id"] for a in listed["assistants"]] == [created["id"]]


async def test_partial_update_changes_only_what_is_sent(api: Api) -> None:
    created = await create(
        api,
        voice={"id": "v1", "provider": "cartesia", "speed": 1.2, "volume": 1.5},
        first_sentence="Hello!",
    )
    response = await api.client.patch(
        f"/assistants/{created['id']}",
        json={"prompt": "New prompt", "voice": {"id": "v2", "provider": "elevenlabs"}},
    )
    assert response.status_code == 200, response.text
    updated = response.json()["assistant"]
    assert updated["prompt"] == "New prompt"
    assert updated["voice"] == {"id": "v2", "provider": "elevenlabs"}  # replaced whole
    assert updated["updated_at"] > created["updated_at"]
    unchanged = {k: v for k, v in updated.items() if k not in ("prompt", "voice", "updated_at")}
    expected = {k: v for k, v in created.items() if k not in ("prompt", "voice", "updated_at")}
    assert unchanged == expected
    assert (await api.client.get(f"/assistants/{created['id']}")).json() == updated


async def test_null_clears_nullable_fields_and_is_refused_for_others(api: Api) -> None:
    await own_numbers(api.client, "+14155552671")
    created = await create(api, from_phone_number="+14155552671", webhook_url="https://h.test/x")
    cleared = await api.client.patch(
        f"/assistants/{created['id']}", json={"from_phone_number": None, "webhook_url": ""}
    )
    assert cleared.status_code == 200
    assert cleared.json()["assistant"]["from_phone_number"] is None
    assert cleared.json()["assistant"]["webhook_url"] is None
    refused = await api.client.patch(
        f"/assistants/{created['id']}", json={"prompt": None, "name": "Renamed"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == [{"path": "prompt", "message": "may not be null"}]
    after = (await api.client.get(f"/assistants/{created['id']}")).json()
    assert after["name"] == "Sales"  # nothing of the refused request was written


async def test_bad_input_never_writes(api: Api) -> None:
    created = await create(api, faq_items=[{"question": "Price?", "answer": "10 EUR"}])
    before = (await count_rows(api, Assistant), await count_rows(api, FaqItem))
    bad_create = await api.client.post(
        "/assistants", json={**BASE, "voice": {"id": "v", "provider": "cartesia", "speed": 9}}
    )
    assert bad_create.status_code == 400
    assert bad_create.json()["error"]["fields"][0]["path"] == "voice.speed"
    bad_patch = await api.client.patch(
        f"/assistants/{created['id']}",
        json={"name": "X", "faq_items": [], "first_sentence_mode": "static", "first_sentence": ""},
    )
    assert bad_patch.status_code == 400
    assert bad_patch.json()["error"]["fields"][0]["path"] == "first_sentence"
    assert (await count_rows(api, Assistant), await count_rows(api, FaqItem)) == before
    assert (await api.client.get(f"/assistants/{created['id']}")).json() == created


async def test_malformed_bodies_get_a_4xx_not_a_500(api: Api) -> None:
    created = await create(api)
    url = f"/assistants/{created['id']}"
    headers = {"content-type": "application/json"}
    for content in (b"{not json", b"[1, 2]", b'"text"', b'{"max_call_duration_secs": "long"}'):
        response = await api.client.patch(url, content=content, headers=headers)
        assert response.status_code == 400, (content, response.text)
        assert response.json()["error"]["code"] in ("invalid_json", "invalid_request")
    huge = await api.client.patch(url, json={"first_sentence_delay_ms": 10**30})
    assert huge.status_code == 400


async def test_another_organizations_assistant_is_not_found(api: Api) -> None:
    mine = await create(api)
    url = f"/assistants/{mine['id']}"
    for response in (
        await api.other.get(url),
        await api.other.patch(url, json={"name": "stolen"}),
        await api.other.delete(url),
        await api.other.post(f"{url}/clone"),
        await api.other.get("/assistants/does-not-exist"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert (await api.other.get("/assistants")).json() == {"assistants": []}
    assert (await api.client.get(url)).json()["name"] == "Sales"


async def test_faq_items_are_replaced_and_keep_identity(api: Api) -> None:
    created = await create(
        api,
        faq_items=[
            {"question": "Price?", "answer": "10 EUR"},
            {"question": "Open on Sunday?", "answer": "", "source": "ai"},
        ],
    )
    price, sunday = created["faq_items"]
    assert sunday["needs_human_answer"] is True and sunday["source"] == "ai"
    assert created["pending_faq_count"] == 1
    response = await api.client.patch(
        f"/assistants/{created['id']}",
        json={
            "faq_items": [
                {"id": sunday["id"], "question": "Open on Sunday?", "answer": "No."},
                {"question": "Parking?", "answer": "Yes"},
            ]
        },
    )
    items = response.json()["assistant"]["faq_items"]
    assert items[0] == {**sunday, "answer": "No.", "needs_human_answer": False}
    assert items[1]["question"] == "Parking?" and items[1]["id"] not in (price["id"], sunday["id"])
    assert response.json()["assistant"]["pending_faq_count"] == 0
    assert await count_rows(api, FaqItem) == 2


async def test_custom_llm_key_is_masked_and_kept_when_sent_back(api: Api) -> None:
    model = {
        "type": "custom",
        "api_key": "sk-live-secret-1234",
        "api_url": "https://llm.example.com/v1",
        "model_name": "llama",
    }
    created = await create(api, llm_model=model)
    assert created["llm_model"]["api_key"] == "****1234"
    masked_back = {**created["llm_model"], "model_name": "llama-2"}
    await api.client.patch(f"/assistants/{created['id']}", json={"llm_model": masked_back})
    async with api.db.read() as session:
        stored = await session.get(Assistant, created["id"])
        assert stored is not None
        assert stored.config["llm_model"]["api_key"] == "sk-live-secret-1234"
        assert stored.config["llm_model"]["model_name"] == "llama-2"
    replaced = {**masked_back, "api_key": "sk-new-key-9876"}
    response = await api.client.patch(f"/assistants/{created['id']}", json={"llm_model": replaced})
    assert response.json()["assistant"]["llm_model"]["api_key"] == "****9876"


async def test_legacy_transfer_phone_number(api: Api) -> None:
    created = await create(api, transfer_phone_number="+14155552671")
    assert created["transfer_destinations"] == [
        {"label": "Default", "phone_number": "+14155552671"}
    ]
    assert created["transfer_phone_number"] == "+14155552671"
    assert created["human_transfer_mode"] == "cold"
    url = f"/assistants/{created['id']}"
    conflict = await api.client.patch(
        url,
        json={
            "transfer_phone_number": "+14155552671",
            "transfer_destinations": [{"label": "Sales", "phone_number": "+33612345678"}],
        },
    )
    assert conflict.status_code == 400
    cleared = (await api.client.patch(url, json={"transfer_phone_number": None})).json()
    assert cleared["assistant"]["transfer_destinations"] is None
    assert cleared["assistant"]["transfer_phone_number"] is None
    assert cleared["assistant"]["human_transfer_mode"] is None


async def test_delete_archives_the_assistant(api: Api) -> None:
    created = await create(api)
    response = await api.client.delete(f"/assistants/{created['id']}")
    assert response.status_code == 200 and response.json() == {"success": True}
    assert (await api.client.get(f"/assistants/{created['id']}")).status_code == 404
    assert (await api.client.delete(f"/assistants/{created['id']}")).status_code == 404
    assert (await api.client.get("/assistants")).json() == {"assistants": []}
    async with api.db.read() as session:
        archived = await session.get(Assistant, created["id"])
        assert archived is not None and archived.deleted_at is not None


async def test_clone_copies_everything_with_new_ids(api: Api) -> None:
    created = await create(
        api,
        faq_items=[{"question": "Price?", "answer": "10 EUR"}],
        voice={"id": "v1", "provider": "gradium", "speed": 0.9},
        sms_enabled=True,
        sms_template="Hi {{first_name}}",
    )
    response = await api.client.post(f"/assistants/{created['id']}/clone")
    assert response.status_code == 201
    twin = response.json()["assistant"]
    assert twin["id"] != created["id"]
    assert twin["faq_items"][0]["id"] != created["faq_items"][0]["id"]
    identity = ("id", "created_at", "updated_at", "faq_items")
    assert {k: v for k, v in twin.items() if k not in identity} == {
        k: v for k, v in created.items() if k not in identity
    }
    assert [(f["question"], f["answer"]) for f in twin["faq_items"]] == [("Price?", "10 EUR")]


async def test_sub_assistants_are_hidden_from_the_list(api: Api) -> None:
    step = await create(api, type="sub-assistant")
    flow = await create(api, type="multi-step")
    listed = [a["id"] for a in (await api.client.get("/assistants")).json()["assistants"]]
    assert listed == [flow["id"]]
    assert (await api.client.get(f"/assistants/{step['id']}")).status_code == 200


async def test_unknown_routes_use_the_error_shape(api: Api) -> None:
    missing = await api.client.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong_method = await api.client.put("/assistants")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
