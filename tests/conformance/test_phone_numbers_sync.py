"""``client.phone_numbers`` (SDK 0.5.0, sync client, strict): list, update, delete; numbers
added through the ``POST /phone-numbers`` extension."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from revox import BadRequestError, ConflictError, NotFoundError, Revox

from tests.conformance.bodies import full_create_body
from tests.conformance.conftest import OWNER_EMAIL, Deployment


def add_number(deployment: Deployment, number: str, **fields: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{deployment.base_url}/phone-numbers",
        json={"phone_number": number, "provider": "twilio", **fields},
        headers={"Authorization": f"Bearer {deployment.key}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["phone_number"]
    return data


def test_list_update_delete(client: Revox, deployment: Deployment) -> None:
    added = add_number(deployment, "+1 415 555 0177", label="Sales line")
    listed = {n.id: n for n in client.phone_numbers.list().phone_numbers}
    number = listed[added["id"]]
    assert number.phone_number == "+14155550177"
    assert number.provider == "twilio" and number.type == "owned_number"
    assert number.source == "user_imported" and number.label == "Sales line"
    assert number.inbound_assistant is None
    assert number.created_by is not None and number.created_by.email == OWNER_EMAIL
    # Every field of an assistant shows through inbound_assistant, strictly validated.
    assistant = client.assistants.create(**full_create_body()).assistant
    updated = client.phone_numbers.update(
        added["id"], inbound_assistant_id=assistant.id, label="Reception"
    ).phone_number
    assert updated.inbound_assistant is not None
    assert updated.inbound_assistant.id == assistant.id
    assert updated.inbound_assistant.precall_lookup_url == assistant.precall_lookup_url
    assert updated.label == "Reception"
    cleared = client.phone_numbers.update(added["id"], inbound_assistant_id=None).phone_number
    assert cleared.inbound_assistant is None and cleared.label == "Reception"
    assert client.phone_numbers.delete(added["id"]).success is True
    assert added["id"] not in {n.id for n in client.phone_numbers.list().phone_numbers}
    with pytest.raises(NotFoundError):
        client.phone_numbers.delete(added["id"])


def test_errors(client: Revox, other_client: Revox, deployment: Deployment) -> None:
    added = add_number(deployment, "+14155550178")
    with pytest.raises(NotFoundError):
        other_client.phone_numbers.update(added["id"], label="theirs")
    with pytest.raises(BadRequestError) as bad:
        client.phone_numbers.update(added["id"], inbound_assistant_id="no-such-assistant")
    assert bad.value.body["error"]["fields"][0]["path"] == "inbound_assistant_id"  # type: ignore[index]
    assistant = client.assistants.create(
        name="Caller", prompt="p", from_phone_number="+14155550178"
    ).assistant
    with pytest.raises(ConflictError) as conflict:
        client.phone_numbers.delete(added["id"])
    assert assistant.id in str(conflict.value)
    with pytest.raises(BadRequestError) as unowned:
        other_client.assistants.create(name="Spoof", prompt="p", from_phone_number="+14155550178")
    assert unowned.value.body["error"]["fields"][0]["path"] == "from_phone_number"  # type: ignore[index]
