"""The hot paths of GET and PATCH /assistants/{id} (one unit of work in the database
thread, concurrent requests coalesced, group commit), on every backend: what they
answer must be what the general path answers, and nothing may be lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import bindparam, select, update

from openrevox.schemas.assistants import AssistantUpdate
from openrevox.services import assistants as service
from openrevox.services import auth
from openrevox.storage.database import Database
from openrevox.storage.models import Assistant, Organization
from openrevox.storage.repositories import assistants as repo
from openrevox.storage.units import Prepared, UnitConnection
from tests.integration.conftest import Api

BASE = {"name": "Hot", "prompt": "You call {{first_name}}."}
# Each concurrent PATCH sets one different field.
FIELDS = {
    "first_sentence": "First.",
    "end_of_call_sentence": "Goodbye.",
    "voicemail_message": "Call back.",
    "sms_template": "Link.",
    "after_call_sms_prompt": "Thanks.",
    "structured_output_prompt": "Extract.",
    "max_duration_end_message": "Time is up.",
    "warm_transfer_summary_instructions": "Be brief.",
    "voicemail_sms_prompt": "Missed you.",
    "webhook_url": "https://hooks.example.com/hot",
    "prompt": "A new prompt.",
    "name": "Renamed",
}


async def create(api: Api) -> dict[str, Any]:
    response = await api.client.post("/assistants", json=BASE)
    assert response.status_code == 201, response.text
    assistant: dict[str, Any] = response.json()["assistant"]
    return assistant


def count_unit_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the locked reads of the assistant row (one per unit of PATCHes)."""
    calls: list[int] = []
    original = repo.keyed_assistant

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(repo, "keyed_assistant", counted)
    return calls


async def test_concurrent_patches_of_one_row_are_applied_in_order_none_lost(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = count_unit_reads(monkeypatch)
    for _ in range(3):
        created = await create(api)
        key, assistant_id = api.key, created["id"]
        views = await asyncio.gather(
            *(
                service.update_in_one_unit(
                    api.db, key, assistant_id, AssistantUpdate.model_validate({k: v})
                )
                for k, v in FIELDS.items()
            )
        )
        wires = [service.to_wire(view) for view in views if view is not None]
        assert len(wires) == len(FIELDS)
        # Each answer shows its own update ...
        for (field, value), wire in zip(FIELDS.items(), wires, strict=True):
            assert wire[field] == value
        # ... on the state every earlier one left (serial, in one order): with the
        # answers ordered by updated_at, each holds the fields of all before it.
        stamps = [wire["updated_at"] for wire in wires]
        assert len(set(stamps)) == len(wires), "each PATCH has its own updated_at"
        ordered = sorted(zip(stamps, FIELDS, wires, strict=True))
        for index, (_, _, wire) in enumerate(ordered):
            for _, earlier, _ in ordered[:index]:
                assert wire[earlier] == FIELDS[earlier], (earlier, index)
        final = (await api.client.get(f"/assistants/{assistant_id}")).json()
        lost = sorted(k for k, v in FIELDS.items() if final[k] != v)
        assert lost == [], f"concurrent partial updates were overwritten: {lost}"
        assert final["updated_at"] == max(stamps)
    # The PATCHes of a burst shared units: fewer row reads than PATCHes.
    assert len(reads) < 3 * len(FIELDS)


async def test_an_invalid_patch_in_a_burst_fails_alone_and_writes_nothing(api: Api) -> None:
    created = await create(api)
    assistant_id = created["id"]
    bodies = [
        {"prompt": "Before."},
        {"first_sentence_mode": "static", "first_sentence": "  "},  # invalid on the row
        {"voicemail_message": "After."},
    ]
    outcomes = await asyncio.gather(
        *(
            service.update_in_one_unit(
                api.db, api.key, assistant_id, AssistantUpdate.model_validate(body)
            )
            for body in bodies
        ),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], Exception)
    assert "first_sentence" in str(outcomes[1])
    final = (await api.client.get(f"/assistants/{assistant_id}")).json()
    assert final["prompt"] == "Before."
    assert final["voicemail_message"] == "After."
    assert final["first_sentence_mode"] == created["first_sentence_mode"]


async def test_concurrent_http_patches_each_answer_their_own_update(api: Api) -> None:
    created = await create(api)
    url = f"/assistants/{created['id']}"
    responses = await asyncio.gather(
        *(api.client.patch(url, json={"prompt": f"Revision {n}."}) for n in range(24))
    )
    for n, response in enumerate(responses):
        assert response.status_code == 200, response.text
        assert response.json()["assistant"]["prompt"] == f"Revision {n}."
    stamps = [r.json()["assistant"]["updated_at"] for r in responses]
    final = (await api.client.get(url)).json()
    assert final["updated_at"] == max(stamps)
    assert final["prompt"] == responses[stamps.index(max(stamps))].json()["assistant"]["prompt"]


async def test_a_revoked_key_is_refused_on_the_next_request(api: Api, database_url: str) -> None:
    created = await create(api)
    url = f"/assistants/{created['id']}"
    assert (await api.client.get(url)).status_code == 200
    assert (await api.client.patch(url, json={"prompt": "Still mine."})).status_code == 200
    # Revoked elsewhere (as the CLI does, from another process): no cache may serve it.
    other = Database(database_url)
    try:
        async with other.write() as session:
            await auth.revoke_key(session, api.key[:12])
    finally:
        await other.dispose()
    for response in (
        await api.client.get(url),
        await api.client.patch(url, json={"prompt": "Not any more."}),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthenticated"
    async with api.db.read() as session:
        stored = await session.get(Assistant, created["id"])
    assert stored is not None and stored.config["prompt"] == "Still mine."


async def test_another_organizations_assistant_is_404_and_untouched(api: Api) -> None:
    created = await create(api)
    url = f"/assistants/{created['id']}"
    for response in (
        await api.other.get(url),
        await api.other.patch(url, json={"prompt": "Hijacked."}),
        await api.client.get("/assistants/not-an-id-%20x"),
        await api.client.patch("/assistants/" + "x" * 65, json={"prompt": "p"}),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert (await api.client.get(url)).json()["prompt"] == BASE["prompt"]


async def test_an_unknown_key_is_401_before_an_invalid_body(api: Api) -> None:
    created = await create(api)
    url = f"/assistants/{created['id']}"
    headers = {"Authorization": "Bearer orx_unknown"}
    invalid = await api.anonymous.patch(url, json={"first_sentence_delay_ms": "x"}, headers=headers)
    assert invalid.status_code == 401, invalid.text
    malformed = await api.anonymous.patch(
        url, content=b"{nope", headers={**headers, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "invalid_json"
    missing = await api.anonymous.patch(url, json={"first_sentence_delay_ms": "x"})
    assert missing.status_code == 401
    bad = await api.client.patch(url, json={"first_sentence_delay_ms": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


async def test_patches_the_units_do_not_cover_take_the_general_path(api: Api) -> None:
    created = await create(api)
    url = f"/assistants/{created['id']}"
    faq = await api.client.patch(url, json={"faq_items": [{"question": "Q?", "answer": "A."}]})
    assert faq.status_code == 200, faq.text
    assert [f["question"] for f in faq.json()["assistant"]["faq_items"]] == ["Q?"]
    number = await api.client.patch(url, json={"from_phone_number": "+14155550100"})
    assert number.status_code == 400, number.text  # not one of the organization's numbers
    retrieved = (await api.client.get(url)).json()
    assert retrieved["from_phone_number"] is None
    assert retrieved["faq_items"][0]["question"] == "Q?"


# ---- storage: a batch of units in one transaction ----

RENAME = Prepared(
    update(Organization)
    .where(Organization.id == bindparam("organization_id"))
    .values(name=bindparam("new_name"))
)
NAME = Prepared(select(Organization.name).where(Organization.id == bindparam("organization_id")))


async def test_a_unit_failing_after_writing_is_rolled_back_alone(api: Api) -> None:
    async with api.db.read() as session:
        acme, globex = (
            await session.scalars(select(Organization).order_by(Organization.name))
        ).all()

    def rename(organization_id: str, name: str, fail: bool) -> Any:
        def work(connection: UnitConnection) -> str:
            connection.run(RENAME, {"organization_id": organization_id, "new_name": name})
            if fail:
                raise RuntimeError("after writing")
            row = connection.first(NAME, {"organization_id": organization_id})
            assert row is not None
            return str(row[0])

        return work

    def refuse(connection: UnitConnection) -> None:
        raise LookupError("before writing")

    outcomes = await asyncio.gather(
        api.db.unit(rename(acme.id, "acme-2", False), write=True, key="k"),
        api.db.unit(refuse, write=True, key="k"),
        api.db.unit(rename(globex.id, "globex-2", True), write=True, key="k"),
        api.db.unit(rename(acme.id, "acme-3", False), write=True, key="k"),
        return_exceptions=True,
    )
    assert outcomes[0] == "acme-2" and outcomes[3] == "acme-3"
    assert isinstance(outcomes[1], LookupError)
    assert isinstance(outcomes[2], RuntimeError)
    async with api.db.read() as session:
        names = {o.id: o.name for o in await session.scalars(select(Organization))}
    assert names == {acme.id: "acme-3", globex.id: globex.name}
