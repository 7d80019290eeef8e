"""The docs' full "Update an assistant" example, sent through ``assistants.update``."""

from __future__ import annotations

from revox import Revox

from tests.conformance.bodies import assert_subset, wire
from tests.conformance.seed_example import TRANSFER_PHONE_NUMBER, example_update


def test_seed_example_update_round_trips_every_field(client: Revox) -> None:
    created = client.assistants.create(
        name="Before",
        prompt="Old prompt.",
        faq_items=[{"question": "Old question?", "answer": "Old answer."}],
    ).assistant
    assert created.faq_items is not None and created.faq_items[0].id
    faq_id = created.faq_items[0].id
    body = example_update(faq_id)

    response = client.assistants.update(
        created.id, **body, extra_body={"transfer_phone_number": TRANSFER_PHONE_NUMBER}
    )
    retrieved = wire(client.assistants.retrieve(created.id))
    assert wire(response.assistant) == retrieved

    assert_subset(retrieved, body)  # every sent field, FAQ item id included
    assert retrieved["pending_faq_count"] == 1
    assert retrieved["transfer_phone_number"] == TRANSFER_PHONE_NUMBER
    assert [d["phone_number"] for d in retrieved["transfer_destinations"]] == [
        TRANSFER_PHONE_NUMBER
    ]
    assert retrieved["id"] == created.id
    assert retrieved["organization_id"] == created.organization_id
    assert retrieved["created_at"] == created.created_at
