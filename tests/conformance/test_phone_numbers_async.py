"""``client.phone_numbers`` through the async SDK 0.5.0 client (strict validation)."""

from __future__ import annotations

import pytest
from revox import AsyncRevox, NotFoundError

from tests.conformance.conftest import Deployment
from tests.conformance.test_phone_numbers_sync import add_number


async def test_async_list_update_delete(aclient: AsyncRevox, deployment: Deployment) -> None:
    added = add_number(deployment, "+14155550179", label="Async line")
    assistant = (await aclient.assistants.create(name="Desk", prompt="p")).assistant
    updated = (
        await aclient.phone_numbers.update(added["id"], inbound_assistant_id=assistant.id)
    ).phone_number
    assert updated.inbound_assistant is not None and updated.inbound_assistant.name == "Desk"
    listed = (await aclient.phone_numbers.list()).phone_numbers
    assert added["id"] in {n.id for n in listed}
    assert (await aclient.phone_numbers.delete(added["id"])).success is True
    with pytest.raises(NotFoundError):
        await aclient.phone_numbers.update(added["id"], label="gone")
