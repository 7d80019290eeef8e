"""``client.call`` through ``AsyncRevox`` (SDK 0.5.0, strict validation): every method."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest
from revox import AsyncRevox, ConflictError, NotFoundError

from tests.conformance.bodies import PHONE, wire
from tests.conformance.conftest import Deployment
from tests.conformance.test_calls_sync import ALWAYS, EVERY_LIST, FAR_SUNDAY, VARIABLES, seed


async def test_async_every_method(aclient: AsyncRevox, deployment: Deployment) -> None:
    assistant = (
        await aclient.assistants.create(
            name="Async caller",
            prompt="You call {{first_name}} at {{company}}.",
            call_retry_config=ALWAYS,  # type: ignore[arg-type]
        )
    ).assistant
    created = (
        await aclient.call.create(
            phone_number="+1 (415) 555-2671",
            assistant_id=assistant.id,
            prompt_variables=VARIABLES,
            metadata={"source": "async"},
            scheduled_at=FAR_SUNDAY,
            skip_calling_window=True,
        )
    ).call
    assert created.to_phone_number == PHONE and created.status == "scheduled"
    assert wire((await aclient.call.retrieve(created.id)).call) == wire(created)

    assert (await aclient.call.pause(created.id)).success is True
    with pytest.raises(ConflictError):
        await aclient.call.pause(created.id)
    assert (await aclient.call.resume(created.id)).success is True
    assert (await aclient.call.retrieve(created.id)).call.status == "scheduled"

    user_id = (await aclient.users.retrieve()).user.id
    await asyncio.to_thread(seed, deployment, created.id, user_id)
    finished = (await aclient.call.retrieve(created.id)).call
    assert finished.status == "completed" and finished.calls_count == 1
    with pytest.raises(ConflictError):
        await aclient.call.cancel(created.id)

    found = await aclient.call.search(
        **{**EVERY_LIST, "assistant_ids": [assistant.id]},  # type: ignore[arg-type]
        page=0,
        page_size=10,
    )
    assert found.total_count == 1 and wire(found.calls[0]) == wire(finished)

    exported = await aclient.call.export(
        filters={**EVERY_LIST, "assistant_ids": [assistant.id], "page": 0, "page_size": 10},  # type: ignore[typeddict-item]
        include_metadata=True,
    )
    rows = list(csv.DictReader(io.StringIO(exported.csv)))
    assert [(r["call_id"], r["metadata.source"]) for r in rows] == [(created.id, "async")]

    history = (await aclient.call.phone_history()).phone_history
    assert history[PHONE].count >= 1 and history[PHONE].reached_human is True

    with pytest.raises(NotFoundError):
        await aclient.call.retrieve("00000000-0000-4000-8000-000000000000")


async def test_async_concurrent_creates_all_land(aclient: AsyncRevox) -> None:
    assistant = (
        await aclient.assistants.create(
            name="Burst caller",
            prompt="Hello {{first_name}}",
            call_retry_config=ALWAYS,  # type: ignore[arg-type]
        )
    ).assistant
    created = await asyncio.gather(
        *(
            aclient.call.create(
                phone_number=PHONE,
                assistant_id=assistant.id,
                prompt_variables={"first_name": f"n{i}"},
            )
            for i in range(8)
        )
    )
    ids = {c.call.id for c in created}
    found = await aclient.call.search(
        **{**EVERY_LIST, "assistant_ids": [assistant.id]},  # type: ignore[arg-type]
        page=0,
        page_size=50,
    )
    assert found.total_count == 8 and {c.id for c in found.calls} == ids
