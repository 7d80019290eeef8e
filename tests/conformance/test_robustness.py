"""Unusual but valid-JSON input never gets a 500: it is stored as sent or refused with 400."""

from __future__ import annotations

from typing import Any

import pytest
from revox import BadRequestError, NotFoundError, Revox

from tests.conformance.bodies import wire

NUL = "a\x00b"


def stored_as_sent_or_refused(client: Revox, fields: dict[str, Any], path: str) -> None:
    """Create with ``fields``: 201 reading back exactly as sent, or 400 naming ``path``."""
    try:
        body = {"name": "n", "prompt": "p", **fields}
        created = wire(client.assistants.create(**body).assistant)
    except BadRequestError as exc:
        paths = [f["path"] for f in exc.body["error"]["fields"]]  # type: ignore[index]
        assert any(p.startswith(path) for p in paths), exc.body
        return
    for key, value in fields.items():
        if key == "faq_items":
            assert [f["question"] for f in created[key]] == [f["question"] for f in value]
        else:
            assert created[key] == value
    assert wire(client.assistants.retrieve(created["id"]))["id"] == created["id"]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        pytest.param({"name": NUL}, "name", id="name"),
        pytest.param({"prompt": NUL}, "prompt", id="prompt"),
        pytest.param({"voice": {"id": NUL, "provider": "cartesia"}}, "voice", id="voice-id"),
        pytest.param({"faq_items": [{"question": NUL, "answer": "x"}]}, "faq_items", id="faq"),
    ],
)
def test_nul_character_in_a_string_is_not_a_500(
    client: Revox, fields: dict[str, Any], path: str
) -> None:
    stored_as_sent_or_refused(client, fields, path)


def test_nul_character_in_an_update_is_not_a_500(client: Revox) -> None:
    assistant = client.assistants.create(name="n", prompt="p").assistant
    try:
        updated = client.assistants.update(assistant.id, prompt=NUL).assistant
    except BadRequestError as exc:
        assert "prompt" in [f["path"] for f in exc.body["error"]["fields"]]  # type: ignore[index]
    else:
        assert updated.prompt == NUL


@pytest.mark.parametrize(
    "assistant_id",
    ["\x00", "a b", "%00", "x" * 3000, "' OR 1=1 --", "é"],
    ids=["nul", "space", "percent", "long", "quote", "non-ascii"],
)
def test_odd_ids_are_404(client: Revox, assistant_id: str) -> None:
    with pytest.raises(NotFoundError):
        client.assistants.retrieve(assistant_id)


def test_unicode_round_trips(client: Revox) -> None:
    fields = {
        "name": "Réceptionniste 📞 Zoë",
        "prompt": "Çà et là — 日本語, emoji 🎉, RTL שלום",
        "faq_items": [{"question": "¿Dónde?", "answer": "Aquí 👍"}],
    }
    created = wire(client.assistants.create(**fields).assistant)  # type: ignore[arg-type]
    retrieved = wire(client.assistants.retrieve(created["id"]))
    assert retrieved["name"] == fields["name"]
    assert retrieved["prompt"] == fields["prompt"]
    assert [(f["question"], f["answer"]) for f in retrieved["faq_items"]] == [
        ("¿Dónde?", "Aquí 👍")
    ]


def test_documented_email_list_reads_back_as_sent(client: Revox) -> None:
    """The SDK's own example value ``"alice@x.com, bob@y.com"`` must round-trip."""
    sent = "alice@x.com, bob@y.com"
    created = client.assistants.create(name="n", prompt="p", email_notification_address=sent)
    assert created.assistant.email_notification_address == sent
