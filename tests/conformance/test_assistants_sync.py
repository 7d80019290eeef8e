"""``client.assistants`` (SDK 0.5.0, sync client): create, retrieve, update, list, delete."""

from __future__ import annotations

import time

import pytest
from revox import NotFoundError, Revox

from tests.conformance.bodies import (
    DEFAULT_CALL_RETRY_CONFIG,
    DEFAULT_LLM_MODEL,
    OTHER_PHONE,
    assert_subset,
    full_create_body,
    sent_fields,
    timestamp,
    wire,
    without_legacy,
)
from tests.conformance.conftest import OWNER_EMAIL


def test_create_applies_documented_defaults(client: Revox) -> None:
    assistant = client.assistants.create(name="Defaults", prompt="Be brief.").assistant
    assert assistant.name == "Defaults"
    assert assistant.prompt == "Be brief."
    assert assistant.type == "standalone"
    assert assistant.first_sentence_delay_ms == 400
    assert assistant.stt_model == "stt-rt-v5"
    assert wire(assistant)["llm_model"] == DEFAULT_LLM_MODEL
    assert assistant.call_retry_config is not None
    assert_subset(assistant.call_retry_config.to_dict(), DEFAULT_CALL_RETRY_CONFIG)
    assert assistant.faq_items == []
    assert assistant.pending_faq_count == 0
    assert assistant.human_transfer_mode is None
    assert assistant.transfer_destinations in (None, [])
    assert assistant.created_by is not None and assistant.created_by.email == OWNER_EMAIL
    assert assistant.organization_id == client.users.retrieve().user.organization_id
    assert timestamp(assistant.created_at) == timestamp(assistant.updated_at)


def test_create_round_trips_every_field(client: Revox) -> None:
    body = full_create_body()
    created = wire(client.assistants.create(**body).assistant)
    assert_subset(without_legacy(created), sent_fields(body))
    assert [(f["question"], f["answer"]) for f in created["faq_items"]] == [
        (f["question"], f["answer"]) for f in body["faq_items"]
    ]
    # An unanswered FAQ item needs a human answer; the count says how many do.
    assert [f["needs_human_answer"] for f in created["faq_items"]] == [False, True]
    assert created["pending_faq_count"] == 1
    # Legacy mirrors for older SDKs: the first destination and the first channel.
    assert created["transfer_phone_number"] == OTHER_PHONE
    assert created["slack"]["channel_id"] == "C01234567"
    assert created["slack"]["channel_name"] == "sales"


def test_retrieve_returns_what_create_returned(client: Revox) -> None:
    created = client.assistants.create(**full_create_body()).assistant
    retrieved = client.assistants.retrieve(created.id)
    assert wire(retrieved) == wire(created)


def test_list_shows_created_assistants_and_hides_sub_assistants(client: Revox) -> None:
    standalone = client.assistants.create(name="Listed", prompt="p").assistant
    step = client.assistants.create(name="Step", prompt="p", type="sub-assistant").assistant
    listed = {a.id: a for a in client.assistants.list().assistants}
    assert standalone.id in listed
    assert wire(listed[standalone.id]) == wire(standalone)
    assert step.id not in listed
    assert all(a.type != "sub-assistant" for a in listed.values())
    # Hidden from the list, not gone.
    assert client.assistants.retrieve(step.id).type == "sub-assistant"


def test_list_is_newest_first(client: Revox) -> None:
    made = []
    for i in range(3):
        made.append(client.assistants.create(name=f"Order {i}", prompt="p").assistant.id)
        time.sleep(0.005)
    listed = [a.id for a in client.assistants.list().assistants if a.id in made]
    assert listed == made[::-1]


def test_partial_update_changes_only_what_was_sent(client: Revox) -> None:
    before = wire(client.assistants.create(**full_create_body()).assistant)
    time.sleep(0.01)
    updated = wire(
        client.assistants.update(
            before["id"],
            prompt="A new prompt.",
            voice={"id": "voice_xyz", "provider": "elevenlabs", "speed": 0.9},
        ).assistant
    )
    assert updated["prompt"] == "A new prompt."
    assert updated["voice"] == {"id": "voice_xyz", "provider": "elevenlabs", "speed": 0.9}
    changed = {"prompt", "voice", "updated_at"}
    assert {k: v for k, v in updated.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }
    assert timestamp(updated["updated_at"]) > timestamp(before["updated_at"])
    assert updated["created_at"] == before["created_at"]
    assert wire(client.assistants.retrieve(before["id"])) == updated


def test_update_with_null_clears_nullable_fields(client: Revox) -> None:
    before = wire(client.assistants.create(**full_create_body()).assistant)
    updated = wire(
        client.assistants.update(
            before["id"], voicemail_message=None, calendly=None, transfer_destinations=None
        ).assistant
    )
    assert updated["voicemail_message"] is None
    assert updated["calendly"] is None
    assert not updated["transfer_destinations"]
    assert updated["transfer_phone_number"] is None
    assert updated["human_transfer_mode"] is None  # no destination: transfer is off
    changed = {
        "voicemail_message",
        "calendly",
        "transfer_destinations",
        "transfer_phone_number",
        "human_transfer_mode",
        "updated_at",
    }
    assert {k: v for k, v in updated.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }


def test_delete_then_retrieve_is_not_found(client: Revox) -> None:
    created = client.assistants.create(name="Doomed", prompt="p").assistant
    assert client.assistants.delete(created.id).success is True
    with pytest.raises(NotFoundError) as caught:
        client.assistants.retrieve(created.id)
    assert caught.value.status_code == 404
    assert created.id not in {a.id for a in client.assistants.list().assistants}
    with pytest.raises(NotFoundError):
        client.assistants.update(created.id, name="Back")
    with pytest.raises(NotFoundError):
        client.assistants.delete(created.id)
    with pytest.raises(NotFoundError):
        client.assistants.clone(created.id)
