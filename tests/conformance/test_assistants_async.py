"""``client.assistants`` through ``AsyncRevox`` (SDK 0.5.0): every method."""

from __future__ import annotations

import asyncio

import pytest
from revox import AsyncRevox, NotFoundError

from tests.conformance.bodies import (
    DEFAULT_CALL_RETRY_CONFIG,
    DEFAULT_LLM_MODEL,
    assert_subset,
    config_of,
    faq_content,
    full_create_body,
    sent_fields,
    timestamp,
    wire,
    without_legacy,
)


async def test_async_create_defaults(aclient: AsyncRevox) -> None:
    assistant = (await aclient.assistants.create(name="Async", prompt="p")).assistant
    data = wire(assistant)
    assert data["type"] == "standalone"
    assert data["first_sentence_delay_ms"] == 400
    assert data["stt_model"] == "stt-rt-v5"
    assert data["llm_model"] == DEFAULT_LLM_MODEL
    assert_subset(data["call_retry_config"], DEFAULT_CALL_RETRY_CONFIG)


async def test_async_every_method(aclient: AsyncRevox) -> None:
    body = full_create_body()
    created = wire((await aclient.assistants.create(**body)).assistant)
    assert_subset(without_legacy(created), sent_fields(body))

    assert wire(await aclient.assistants.retrieve(created["id"])) == created

    await asyncio.sleep(0.01)
    updated = wire((await aclient.assistants.update(created["id"], name="Async renamed")).assistant)
    assert updated["name"] == "Async renamed"
    assert timestamp(updated["updated_at"]) > timestamp(created["updated_at"])
    changed = {"name", "updated_at"}
    assert {k: v for k, v in updated.items() if k not in changed} == {
        k: v for k, v in created.items() if k not in changed
    }

    listed = {a.id: wire(a) for a in (await aclient.assistants.list()).assistants}
    assert listed[created["id"]] == updated

    twin = wire((await aclient.assistants.clone(created["id"])).assistant)
    assert twin["id"] != created["id"]
    assert config_of(twin) == config_of(updated)
    assert faq_content(twin) == faq_content(updated)

    assert (await aclient.assistants.delete(created["id"])).success is True
    with pytest.raises(NotFoundError):
        await aclient.assistants.retrieve(created["id"])
    assert wire(await aclient.assistants.retrieve(twin["id"])) == twin


async def test_async_list_hides_sub_assistants(aclient: AsyncRevox) -> None:
    step = (
        await aclient.assistants.create(name="Step", prompt="p", type="sub-assistant")
    ).assistant
    assert step.id not in {a.id for a in (await aclient.assistants.list()).assistants}
