"""Phone numbers on every backend: add, list, update, delete, scoping, and the rule that
``from_phone_number`` on assistants and calls is one of the organization's numbers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from openrevox.storage.models import PhoneNumber
from tests.integration.conftest import Api

NUMBER = "+14155550100"


async def add(api: Api, status: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"phone_number": NUMBER, "provider": "twilio", **fields}
    response = await api.client.post("/phone-numbers", json=body)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data["phone_number"] if status == 201 else data


async def assistant(api: Api, client: Any = None, **fields: Any) -> dict[str, Any]:
    body = {"name": "Ava", "prompt": "You answer the phone.", **fields}
    response = await (client or api.client).post("/assistants", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["assistant"]
    return data


async def count_numbers(api: Api) -> int:
    async with api.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(PhoneNumber)) or 0)


async def test_add_normalises_and_lists(api: Api) -> None:
    added = await add(api, phone_number="+1 (415) 555-0100", label="Front desk")
    assert added["phone_number"] == NUMBER
    assert added["provider"] == "twilio"
    assert added["source"] == "user_imported" and added["type"] == "owned_number"
    assert added["label"] == "Front desk"
    assert added["inbound_assistant"] is None and added["inbound_sip_uri"] is None
    assert added["livekit_outbound_trunk_id"] is None
    assert added["created_by"]["email"] == "owner@acme.test"
    assert added["created_at"].endswith("Z")
    national = await add(
        api,
        phone_number="01 23 45 67 89",
        provider="sip",
        inbound_sip_uri="sip:+33123456789@pbx.example.com",
    )
    assert national["phone_number"] == "+33123456789"  # the organization is in France
    listed = (await api.client.get("/phone-numbers")).json()["phone_numbers"]
    assert [n["id"] for n in listed] == [added["id"], national["id"]]
    assert listed[0] == added
    # Another organization sees none of them, and may add the same number.
    assert (await api.other.get("/phone-numbers")).json() == {"phone_numbers": []}
    other = await api.other.post(
        "/phone-numbers", json={"phone_number": NUMBER, "provider": "telnyx"}
    )
    assert other.status_code == 201


async def test_a_number_is_once_per_organization(api: Api) -> None:
    await add(api)
    again = await add(api, 409, phone_number="+1 415 555 0100")
    assert again["error"]["code"] == "conflict" and NUMBER in again["error"]["message"]
    assert await count_numbers(api) == 1


async def test_bad_input_is_a_400_naming_the_field(api: Api) -> None:
    cases = [
        ({"phone_number": "12"}, "phone_number"),
        ({"provider": "vonage"}, "provider"),
        ({"type": "rented"}, "type"),
        ({"inbound_sip_uri": "http://pbx"}, "inbound_sip_uri"),
        ({"inbound_assistant_id": "nope"}, "inbound_assistant_id"),
        ({"extra": 1}, "extra"),
    ]
    for fields, path in cases:
        error = (await add(api, 400, **fields))["error"]
        assert error["code"] == "invalid_request", fields
        assert error["fields"][0]["path"] == path, (fields, error)
    assert await count_numbers(api) == 0


async def test_update_sets_and_clears_the_inbound_assistant_and_label(api: Api) -> None:
    ava = await assistant(api)
    added = await add(api)
    response = await api.client.patch(
        f"/phone-numbers/{added['id']}", json={"inbound_assistant_id": ava["id"], "label": "Main"}
    )
    assert response.status_code == 200, response.text
    updated = response.json()["phone_number"]
    assert updated["inbound_assistant"]["id"] == ava["id"]
    assert updated["inbound_assistant"]["name"] == "Ava"
    assert updated["label"] == "Main"
    untouched = (await api.client.patch(f"/phone-numbers/{added['id']}", json={})).json()
    assert untouched["phone_number"] == updated
    cleared = await api.client.patch(
        f"/phone-numbers/{added['id']}", json={"inbound_assistant_id": None, "label": None}
    )
    assert cleared.json()["phone_number"]["inbound_assistant"] is None
    assert cleared.json()["phone_number"]["label"] is None
    # Another organization's assistant is not a choice.
    theirs = await assistant(api, api.other)
    refused = await api.client.patch(
        f"/phone-numbers/{added['id']}", json={"inbound_assistant_id": theirs["id"]}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"][0]["path"] == "inbound_assistant_id"
    # An archived assistant answers nothing: the number shows none.
    await api.client.patch(
        f"/phone-numbers/{added['id']}", json={"inbound_assistant_id": ava["id"]}
    )
    assert (await api.client.delete(f"/assistants/{ava['id']}")).status_code == 200
    listed = (await api.client.get("/phone-numbers")).json()["phone_numbers"]
    assert listed[0]["inbound_assistant"] is None


async def test_a_number_routes_inbound_calls_for_one_organization_only(api: Api) -> None:
    ours = await add(api, inbound_assistant_id=(await assistant(api))["id"])
    assert ours["inbound_assistant"] is not None
    theirs = await assistant(api, api.other)
    conflict = await api.other.post(
        "/phone-numbers",
        json={"phone_number": NUMBER, "provider": "twilio", "inbound_assistant_id": theirs["id"]},
    )
    assert conflict.status_code == 409
    assert "another organization" in conflict.json()["error"]["message"]


async def test_verified_caller_ids_receive_no_calls(api: Api) -> None:
    ava = await assistant(api)
    error = (await add(api, 400, type="verified_caller_id", inbound_assistant_id=ava["id"]))[
        "error"
    ]
    assert error["fields"][0]["path"] == "inbound_assistant_id"


async def test_other_organizations_numbers_are_not_found(api: Api) -> None:
    added = await add(api)
    for method, body in (("patch", {"label": "x"}), ("delete", None)):
        kwargs = {"json": body} if body is not None else {}
        response = await getattr(api.other, method)(f"/phone-numbers/{added['id']}", **kwargs)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["error"]["code"] == "not_found"
    missing = await api.client.delete("/phone-numbers/not-an-id!")
    assert missing.status_code == 404
    assert await count_numbers(api) == 1


async def test_from_phone_number_must_be_owned(api: Api) -> None:
    refused = await api.client.post(
        "/assistants", json={"name": "Ava", "prompt": "p", "from_phone_number": NUMBER}
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["fields"][0]["path"] == "from_phone_number"
    assert "not a phone number of this organization" in error["fields"][0]["message"]
    await add(api)
    ava = await assistant(api, from_phone_number=NUMBER)
    assert ava["from_phone_number"] == NUMBER
    # Calls: the number asked for, and an inline assistant's.
    call = {"phone_number": "+14155552671", "assistant_id": ava["id"]}
    placed = await api.client.post("/call", json={**call, "from_phone_number": "+14155550199"})
    assert placed.status_code == 400
    assert placed.json()["error"]["fields"][0]["path"] == "from_phone_number"
    inline = {"name": "Inline", "prompt": "p", "from_phone_number": "+14155550199"}
    placed = await api.client.post(
        "/call", json={"phone_number": "+14155552671", "assistant": inline}
    )
    assert placed.status_code == 400
    assert placed.json()["error"]["fields"][0]["path"] == "assistant.from_phone_number"
    ok = await api.client.post("/call", json={**call, "from_phone_number": NUMBER})
    assert ok.status_code == 201, ok.text
    # Another organization cannot call from our number.
    theirs = await api.other.post(
        "/assistants", json={"name": "Bo", "prompt": "p", "from_phone_number": NUMBER}
    )
    assert theirs.status_code == 400
    # An assistant keeps a stored number on unrelated updates.
    renamed = await api.client.patch(f"/assistants/{ava['id']}", json={"name": "Ava 2"})
    assert renamed.status_code == 200


async def test_deleting_a_number_in_use_is_refused_naming_the_users(api: Api) -> None:
    added = await add(api)
    ava = await assistant(api, from_phone_number=NUMBER, name="Ava the caller")
    refused = await api.client.delete(f"/phone-numbers/{added['id']}")
    assert refused.status_code == 409
    message = refused.json()["error"]["message"]
    assert "Ava the caller" in message and ava["id"] in message
    await api.client.patch(f"/assistants/{ava['id']}", json={"from_phone_number": None})
    deleted = await api.client.delete(f"/phone-numbers/{added['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert (await api.client.get("/phone-numbers")).json() == {"phone_numbers": []}
    gone = await api.client.delete(f"/phone-numbers/{added['id']}")
    assert gone.status_code == 404


async def test_campaigns_call_from_owned_numbers_and_keep_them(api: Api) -> None:
    from tests.integration.test_campaigns import create_campaign

    refused = await create_campaign(api, status=400, from_phone_number=NUMBER)
    paths = [f["path"] for f in refused["error"]["fields"]]
    assert "from_phone_number" in paths
    added = await add(api)
    campaign = await create_campaign(api, name="Spring drive", from_phone_number=NUMBER)
    assert campaign["from_phone_number"] == NUMBER
    patched = await api.client.patch(
        f"/campaigns/{campaign['id']}", json={"from_phone_number": "+14155550199"}
    )
    assert patched.status_code == 400
    assert patched.json()["error"]["fields"][0]["path"] == "from_phone_number"
    in_use = await api.client.delete(f"/phone-numbers/{added['id']}")
    assert in_use.status_code == 409
    assert "Spring drive" in in_use.json()["error"]["message"]
