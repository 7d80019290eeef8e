"""``client.assistants.clone``: a new assistant with every field and FAQ item copied."""

from __future__ import annotations

from revox import Revox

from tests.conformance.bodies import config_of, faq_content, full_create_body, timestamp, wire


def test_clone_copies_every_field_and_faq_item_under_a_new_id(client: Revox) -> None:
    source = wire(client.assistants.create(**full_create_body()).assistant)
    twin = wire(client.assistants.clone(source["id"]).assistant)
    assert twin["id"] != source["id"]
    assert config_of(twin) == config_of(source)
    assert faq_content(twin) == faq_content(source)
    assert twin["pending_faq_count"] == source["pending_faq_count"]
    assert twin["organization_id"] == source["organization_id"]
    assert {f["id"] for f in twin["faq_items"]}.isdisjoint(f["id"] for f in source["faq_items"])
    assert timestamp(twin["created_at"]) >= timestamp(source["created_at"])
    assert wire(client.assistants.retrieve(twin["id"])) == twin


def test_clone_is_independent_of_its_source(client: Revox) -> None:
    source = wire(client.assistants.create(**full_create_body()).assistant)
    twin = wire(client.assistants.clone(source["id"]).assistant)
    client.assistants.update(
        source["id"],
        name="Renamed source",
        call_retry_config={
            "allowed_days": ["sunday"],
            "call_twice_in_a_row": False,
            "calling_windows": [
                {
                    "calling_window_start_time": "08:00",
                    "calling_window_end_time": "09:00",
                    "retry_delay_seconds": 60,
                }
            ],
            "max_retry_attempts": 1,
        },
        faq_items=[{"question": "Only question?", "answer": "Yes."}],
    )
    client.assistants.delete(source["id"])
    assert wire(client.assistants.retrieve(twin["id"])) == twin
    assert twin["id"] in {a.id for a in client.assistants.list().assistants}
