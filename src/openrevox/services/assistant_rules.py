"""The rules an assistant's create and update share with their one-unit hot paths: the
config a request sets (in stored form), the config as it will be stored, the checks."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from openrevox.domain.assistant_defaults import DEFAULT_CONFIG, LEGACY_TRANSFER_LABEL
from openrevox.domain.secrets import is_mask_of
from openrevox.errors import InvalidInput, NotFound
from openrevox.schemas.assistants import AssistantUpdate, config_fields, dump_fields
from openrevox.storage.models import utcnow

CONFIG_FIELDS = config_fields()


def not_found(assistant_id: str) -> NotFound:
    return NotFound(f"no assistant with id {assistant_id!r}")


def config_changes(body: AssistantUpdate, *, stored: dict[str, Any]) -> dict[str, Any]:
    """The config fields the request sets, in stored form. Raises on forbidden nulls."""
    return keep_masked_key(requested_changes(body), stored)


def requested_changes(body: AssistantUpdate) -> dict[str, Any]:
    """The config fields the request sets, in stored form, before looking at the stored
    assistant. Raises on forbidden nulls."""
    sent = body.model_fields_set
    changes = dump_fields(body, set(sent & CONFIG_FIELDS))
    if changes.get("webhook_url") == "":
        changes["webhook_url"] = None  # an empty URL removes the webhook
    if "transfer_phone_number" in sent:
        changes["transfer_destinations"] = _legacy_transfer(body)
    return changes


def keep_masked_key(changes: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """``changes`` where a custom LLM's masked key sent back becomes the stored key."""
    llm_model = changes.get("llm_model")
    previous = stored.get("llm_model") or {}
    if (
        llm_model
        and llm_model["type"] == "custom"
        and previous.get("type") == "custom"
        and is_mask_of(llm_model["api_key"], previous["api_key"])
    ):
        # the masked key sent back keeps the key
        return {**changes, "llm_model": {**llm_model, "api_key": previous["api_key"]}}
    return changes


def merged_config(stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The config as it will be stored: defaults of fields the stored one lacks (copied,
    never shared), the stored fields, the changes."""
    missing = {k: copy.deepcopy(v) for k, v in DEFAULT_CONFIG.items() if k not in stored}
    return {**missing, **stored, **changes}


def _legacy_transfer(body: AssistantUpdate) -> list[dict[str, str]] | None:
    number = body.transfer_phone_number
    legacy = [{"label": LEGACY_TRANSFER_LABEL, "phone_number": number}] if number else None
    if "transfer_destinations" in body.model_fields_set:
        given = body.transfer_destinations or []
        if [d.phone_number for d in given] != ([number] if number else []):
            raise InvalidInput.at(
                "transfer_phone_number",
                "disagrees with transfer_destinations; send only transfer_destinations",
            )
        return dump_fields(body, {"transfer_destinations"})["transfer_destinations"]  # type: ignore[no-any-return]
    return legacy


def check_config(config: dict[str, Any]) -> None:
    """Rules that span fields, checked on the assistant as it will be stored."""
    if config["first_sentence_mode"] == "static" and not (config["first_sentence"] or "").strip():
        raise InvalidInput.at("first_sentence", "is required when first_sentence_mode is 'static'")


def later_than(previous: datetime) -> datetime:
    """Now, or just after ``previous`` if the clock has not moved past it."""
    now = utcnow()
    return now if now > previous else previous + timedelta(microseconds=1)
