"""Request bodies and helpers shared by the conformance tests."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from pydantic import BaseModel

PHONE = "+14155552671"
OTHER_PHONE = "+14155552672"
THIRD_PHONE = "+33612345678"

DEFAULT_CALL_RETRY_CONFIG = {
    "allowed_days": ["monday", "tuesday", "wednesday", "thursday", "friday"],
    "call_twice_in_a_row": False,
    "calling_windows": [
        {
            "calling_window_start_time": "10:00",
            "calling_window_end_time": "18:00",
            "retry_delay_seconds": 7200,
        }
    ],
    "max_retry_attempts": 3,
}
DEFAULT_LLM_MODEL = {"type": "dedicated-instance", "name": "gpt-4.1"}

# Server-owned fields: never sent, so never compared with what was sent.
SERVER_FIELDS = frozenset(
    {"id", "organization_id", "created_at", "updated_at", "created_by", "pending_faq_count"}
)


def full_create_body() -> dict[str, Any]:
    """Every parameter of ``assistants.create`` in SDK 0.5.0, each with a non-default value."""
    return copy.deepcopy(
        {
            "name": "Full assistant",
            "prompt": "You call {{first_name}} about {{company}}.",
            "after_call_sms_outcomes": ["interested", "none"],
            "after_call_sms_prompt": "Thank {{first_name}} for the call.",
            "background_sound": "audio/office.ogg",
            "background_sound_volume": 0.25,
            "calendly": {"connection_id": "conn_cal_1", "event_type_id": "evt_1"},
            "call_retry_config": {
                "allowed_days": ["monday", "wednesday", "saturday"],
                "call_twice_in_a_row": True,
                "calling_windows": [
                    {
                        "calling_window_start_time": "09:00",
                        "calling_window_end_time": "12:00",
                        "retry_delay_seconds": 600,
                    },
                    {
                        "calling_window_start_time": "14:00",
                        "calling_window_end_time": "17:30",
                        "retry_delay_seconds": 1800,
                    },
                ],
                "max_retry_attempts": 5,
                "timezone": "Europe/Paris",
            },
            "cartesia_dictionary_pronunciation_id": "dict_123",
            "custom_tools": [
                {
                    "body_template": '{"sku": "{{sku}}", "qty": {{quantity}}}',
                    "description": "Check whether an item is in stock",
                    "headers": [{"key": "X-Api-Key", "value": "{{api_key}}"}],
                    "input_schema": [
                        {
                            "name": "sku",
                            "required": True,
                            "type": "string",
                            "description": "The item's SKU",
                        },
                        {
                            "name": "size",
                            "required": False,
                            "type": "enum",
                            "enum_options": ["s", "m", "l"],
                        },
                    ],
                    "method": "POST",
                    "name": "check_stock",
                    "query_params": [{"key": "store", "value": "{{store_id}}"}],
                    "url": "https://api.example.com/stock/{{sku}}",
                }
            ],
            "email_notification_address": "alice@example.com,bob@example.org",
            "email_notification_outcomes": ["interested", "completed"],
            "end_of_call_sentence": "Goodbye and have a nice day.",
            "faq_items": [
                {"question": "What are your opening hours?", "answer": "9 to 5."},
                {"question": "Do you ship abroad?", "answer": ""},
            ],
            "first_sentence": "Hello {{first_name}}!",
            "first_sentence_delay_ms": 750,
            "first_sentence_mode": "static",
            "from_phone_number": PHONE,
            "human_transfer_mode": "warm",
            "ivr_navigation_enabled": True,
            "llm_model": {
                "type": "openrouter",
                "openrouter_model_id": "openai/gpt-4.1",
                "openrouter_provider": "openai",
            },
            "logo_url": "https://cdn.example.com/logo.png",
            "max_call_duration_secs": 900,
            "max_duration_end_message": "We are out of time, goodbye.",
            "position": {"x": 120.5, "y": -40},
            "precall_lookup_url": "https://crm.example.com/lookup?phone={{phone}}",
            "prompt_flow": {
                "edges": [{"id": "e1", "source": "n1", "target": "n2"}],
                "nodes": [
                    {
                        "id": "n1",
                        "data": {"body": "Greet.", "title": "Intro"},
                        "position": {"x": 0, "y": 0},
                        "type": "promptBlock",
                    },
                    {
                        "id": "n2",
                        "data": {"body": "Qualify.", "title": "Qualify"},
                        "position": {"x": 200, "y": 0},
                        "type": "promptBlock",
                    },
                ],
            },
            "slack": {
                "channels": [
                    {"id": "C01234567", "name": "sales"},
                    {"id": "C07654321", "name": None},
                ],
                "connection_id": "conn_slack_1",
                "outcomes": ["interested"],
                "template": "{{summary}} ({{outcome}})",
            },
            "sms_enabled": True,
            "sms_template": "Here is the link: {{link}}",
            "structured_output_config": [
                {"name": "email", "required": True, "type": "string", "description": "Email"},
                {
                    "name": "budget",
                    "required": False,
                    "type": "enum",
                    "enum_options": ["low", "high"],
                },
            ],
            "structured_output_prompt": "Extract from {{transcript}}.",
            "stt_context": {
                "general": [{"key": "industry", "value": "retail"}],
                "terms": ["Revox", "SKU"],
            },
            "stt_model": "stt-rt-v4",
            "thinking_sound": "keyboard-typing.ogg",
            "thinking_sound_probability": 0.8,
            "thinking_sound_volume": 0.3,
            "transfer_destinations": [
                {"label": "Sales", "phone_number": OTHER_PHONE},
                {"label": "Support", "phone_number": THIRD_PHONE},
            ],
            "type": "multi-step",
            "voice": {
                "id": "voice_abc",
                "provider": "cartesia",
                "model": "sonic-3.5",
                "speed": 1.2,
                "volume": 1.5,
            },
            "voicemail_message": "Please call us back.",
            "voicemail_sms_prompt": "Sorry we missed you, {{first_name}}.",
            "warm_transfer_summary_instructions": "Summarize the budget first.",
            "webhook_url": "https://hooks.example.com/calls",
            "zoho": {
                "connection_id": "conn_zoho_1",
                "field_mapping": [{"source": "email", "zoho_field": "Email"}],
                "log_call_activity": True,
                "module": "Leads",
                "outcomes": ["interested", "completed"],
                "template": "Outcome: {{outcome}}",
            },
        }
    )


def wire(model: BaseModel) -> dict[str, Any]:
    """An SDK response model as its JSON fields (API names, unset fields left out)."""
    data: dict[str, Any] = model.to_dict()  # type: ignore[attr-defined]
    return data


def without_legacy(assistant: dict[str, Any]) -> dict[str, Any]:
    """The wire form minus the legacy fields kept for SDK 0.1.1-0.3.0."""
    data = {
        k: v
        for k, v in assistant.items()
        if k not in ("transfer_phone_number", "email_notification_language")
    }
    if isinstance(data.get("slack"), dict):
        data["slack"] = {
            k: v for k, v in data["slack"].items() if k not in ("channel_id", "channel_name")
        }
    return data


def sent_fields(body: dict[str, Any]) -> dict[str, Any]:
    """What a body's fields should read back as (FAQ items are compared on their own)."""
    return {k: v for k, v in body.items() if k != "faq_items"}


def config_of(assistant: dict[str, Any]) -> dict[str, Any]:
    """An assistant's wire form without server-owned fields (what a clone must copy)."""
    return {k: v for k, v in assistant.items() if k not in SERVER_FIELDS | {"faq_items"}}


def faq_content(assistant: dict[str, Any]) -> list[dict[str, Any]]:
    """FAQ items without their ids."""
    return [{k: v for k, v in f.items() if k != "id"} for f in assistant["faq_items"]]


def assert_subset(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Each expected field reads back equal (reported field by field)."""
    wrong = {k: (v, actual.get(k, "<missing>")) for k, v in expected.items() if actual.get(k) != v}
    assert not wrong, f"fields that did not round-trip (sent, got): {wrong}"


def timestamp(value: object) -> datetime:
    """A wire timestamp (``created_at``/``updated_at``) as an aware datetime."""
    assert isinstance(value, str), f"timestamp is not a string: {value!r}"
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"timestamp has no time zone: {value!r}"
    return parsed
