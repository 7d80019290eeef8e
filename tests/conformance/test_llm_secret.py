"""A custom LLM's ``api_key`` is never shown back, and sending the masked value keeps it."""

from __future__ import annotations

from typing import Any

from revox import Revox

from tests.conformance.bodies import wire

KEY = "sk-live-0123456789abcdefWXYZ"
NEW_KEY = "sk-live-9876543210fedcbaQRST"


def custom_model(api_key: str, model_name: str = "meta-llama/llama-3-70b") -> dict[str, Any]:
    return {
        "type": "custom",
        "api_key": api_key,
        "api_url": "https://api.together.xyz/v1",
        "model_name": model_name,
    }


def assert_masked(shown: str, secret: str) -> None:
    assert shown != secret
    assert secret not in shown
    assert secret[:-4] not in shown
    assert shown == "****" + secret[-4:], f"{shown!r} is not '****' and the key's last 4"


def test_custom_llm_api_key_is_masked_everywhere(client: Revox) -> None:
    created = client.assistants.create(name="BYO LLM", prompt="p", llm_model=custom_model(KEY))
    shown = wire(created.assistant)["llm_model"]
    assert shown["type"] == "custom"
    assert shown["api_url"] == "https://api.together.xyz/v1"
    assert shown["model_name"] == "meta-llama/llama-3-70b"
    assert_masked(shown["api_key"], KEY)
    assistant_id = created.assistant.id
    assert wire(client.assistants.retrieve(assistant_id))["llm_model"] == shown
    listed = {a.id: wire(a) for a in client.assistants.list().assistants}
    assert listed[assistant_id]["llm_model"] == shown
    assert_masked(
        wire(client.assistants.clone(assistant_id).assistant)["llm_model"]["api_key"], KEY
    )


def test_sending_the_masked_key_back_keeps_the_key(client: Revox) -> None:
    created = client.assistants.create(name="BYO LLM", prompt="p", llm_model=custom_model(KEY))
    masked = wire(created.assistant)["llm_model"]["api_key"]
    # A read-modify-write client sends the masked key back with another change.
    updated = client.assistants.update(
        created.assistant.id, llm_model=custom_model(masked, model_name="mistral/large")
    )
    shown = wire(updated.assistant)["llm_model"]
    assert shown["model_name"] == "mistral/large"
    assert shown["api_key"] == masked  # still the mask of KEY, not a mask of the mask
    assert_masked(shown["api_key"], KEY)
    # A real new key replaces it: the suffix follows the key.
    replaced = client.assistants.update(created.assistant.id, llm_model=custom_model(NEW_KEY))
    assert_masked(wire(replaced.assistant)["llm_model"]["api_key"], NEW_KEY)
    assert (
        wire(client.assistants.retrieve(created.assistant.id))["llm_model"]["api_key"]
        == (wire(replaced.assistant)["llm_model"]["api_key"])
    )
