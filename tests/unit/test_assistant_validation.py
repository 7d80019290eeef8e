"""Validation of assistant bodies, with the path of every offending field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from openrevox.api.errors import field_errors
from openrevox.schemas.assistants import AssistantCreate, AssistantUpdate

BASE = {"name": "Sales", "prompt": "You call {{first_name}}."}


def errors_of(model: type[BaseModel], body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return {e.path: e.message for e in field_errors(caught.value.errors())}


def tool(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "check_stock",
        "description": "Checks stock",
        "method": "POST",
        "url": "https://api.example.com/stock/{{sku}}",
        "headers": [{"key": "X-Token", "value": "{{token}}"}],
        "query_params": [],
        "input_schema": [{"name": "sku", "required": True, "type": "string"}],
        "body_template": '{"sku": "{{sku}}", "qty": {{qty}}}',
        **overrides,
    }


def test_minimal_create_is_valid() -> None:
    body = AssistantCreate.model_validate(BASE)
    assert body.model_fields_set == {"name", "prompt"}


def test_create_needs_name_and_prompt() -> None:
    assert errors_of(AssistantCreate, {}) == {"name": "is required", "prompt": "is required"}


def test_unknown_fields_are_refused() -> None:
    assert errors_of(AssistantUpdate, {"promtp": "typo"}) == {"promtp": "is not a known field"}


@pytest.mark.parametrize(
    "field",
    ["name", "prompt", "voice", "llm_model", "call_retry_config", "sms_enabled", "faq_items"],
)
def test_null_for_a_non_nullable_field_is_refused(field: str) -> None:
    assert errors_of(AssistantUpdate, {field: None}) == {field: "may not be null"}


def test_null_clears_a_nullable_field() -> None:
    body = AssistantUpdate.model_validate({"calendly": None, "from_phone_number": None})
    assert body.model_fields_set == {"calendly", "from_phone_number"}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"background_sound_volume": 1.5}, "background_sound_volume"),
        ({"thinking_sound_volume": -0.1}, "thinking_sound_volume"),
        ({"thinking_sound_probability": 2}, "thinking_sound_probability"),
        ({"first_sentence_delay_ms": -1}, "first_sentence_delay_ms"),
        ({"max_call_duration_secs": 0}, "max_call_duration_secs"),
        ({"voice": {"id": "v", "provider": "cartesia", "speed": 1.6}}, "voice.speed"),
        ({"voice": {"id": "v", "provider": "elevenlabs", "speed": 0.65}}, "voice.speed"),
        ({"voice": {"id": "v", "provider": "cartesia", "volume": 3}}, "voice.volume"),
        ({"voice": {"id": "v", "provider": "azure"}}, "voice.provider"),
        ({"first_sentence_mode": "sometimes"}, "first_sentence_mode"),
        ({"stt_model": "whisper"}, "stt_model"),
    ],
)
def test_out_of_range_and_unknown_enum_values(body: dict[str, Any], path: str) -> None:
    assert path in errors_of(AssistantUpdate, body)


def test_voice_speed_ranges_differ_by_provider() -> None:
    AssistantUpdate.model_validate({"voice": {"id": "v", "provider": "cartesia", "speed": 0.6}})
    AssistantUpdate.model_validate({"voice": {"id": "v", "provider": "gradium", "speed": 1.5}})
    AssistantUpdate.model_validate({"voice": {"id": "v", "provider": "elevenlabs", "speed": 1.2}})


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"from_phone_number": "0612345678"}, "from_phone_number"),
        ({"from_phone_number": "+1234567890"}, "from_phone_number"),
        ({"transfer_phone_number": "555-0100"}, "transfer_phone_number"),
        (
            {"transfer_destinations": [{"label": "Sales", "phone_number": "+1 415"}]},
            "transfer_destinations[0].phone_number",
        ),
    ],
)
def test_phone_numbers_must_be_e164(body: dict[str, Any], path: str) -> None:
    assert path in errors_of(AssistantUpdate, body)


def test_transfer_labels_are_unique() -> None:
    destinations = [
        {"label": "Sales", "phone_number": "+14155552671"},
        {"label": "Sales", "phone_number": "+33612345678"},
    ]
    errors = errors_of(AssistantUpdate, {"transfer_destinations": destinations})
    assert "appears more than once" in errors["transfer_destinations"]


def retry(**overrides: Any) -> dict[str, Any]:
    return {
        "allowed_days": ["monday"],
        "call_twice_in_a_row": False,
        "calling_windows": [
            {
                "calling_window_start_time": "9am",
                "calling_window_end_time": "17:30",
                "retry_delay_seconds": 0,
            }
        ],
        "max_retry_attempts": 2,
        "timezone": "Europe/Paris",
        **overrides,
    }


def test_calling_windows() -> None:
    AssistantUpdate.model_validate({"call_retry_config": retry()})
    late_start = [
        {
            "calling_window_start_time": "6pm",
            "calling_window_end_time": "09:00",
            "retry_delay_seconds": 60,
        }
    ]
    errors = errors_of(AssistantUpdate, {"call_retry_config": retry(calling_windows=late_start)})
    assert (
        "must be before" in errors["call_retry_config.calling_windows[0].calling_window_start_time"]
    )
    bad_time = [
        {
            "calling_window_start_time": "9h",
            "calling_window_end_time": "10:00",
            "retry_delay_seconds": 60,
        }
    ]
    errors = errors_of(AssistantUpdate, {"call_retry_config": retry(calling_windows=bad_time)})
    assert "call_retry_config.calling_windows[0].calling_window_start_time" in errors


def test_overlapping_windows_bad_zone_and_days() -> None:
    windows = [
        {"calling_window_start_time": "09:00", "calling_window_end_time": "12:00",
         "retry_delay_seconds": 60},
        {"calling_window_start_time": "11:00", "calling_window_end_time": "15:00",
         "retry_delay_seconds": 60},
    ]  # fmt: skip
    assert "call_retry_config.calling_windows" in errors_of(
        AssistantUpdate, {"call_retry_config": retry(calling_windows=windows)}
    )
    assert "call_retry_config.timezone" in errors_of(
        AssistantUpdate, {"call_retry_config": retry(timezone="Mars/Olympus")}
    )
    assert "call_retry_config.allowed_days" in errors_of(
        AssistantUpdate, {"call_retry_config": retry(allowed_days=[])}
    )
    assert "call_retry_config.max_retry_attempts" in errors_of(
        AssistantUpdate, {"call_retry_config": retry(max_retry_attempts=0)}
    )


def test_custom_tools() -> None:
    AssistantUpdate.model_validate({"custom_tools": [tool()]})
    assert "custom_tools[0].name" in errors_of(
        AssistantUpdate, {"custom_tools": [tool(name="CheckStock")]}
    )
    assert "custom_tools[0].name" in errors_of(
        AssistantUpdate, {"custom_tools": [tool(name="end_call")]}
    )
    assert "custom_tools" in errors_of(AssistantUpdate, {"custom_tools": [tool(), tool()]})
    assert "custom_tools[0].url" in errors_of(
        AssistantUpdate, {"custom_tools": [tool(url="ftp://example.com")]}
    )
    assert "custom_tools[0].body_template" in errors_of(
        AssistantUpdate, {"custom_tools": [tool(body_template="{not json")]}
    )
    enum_without_options = [{"name": "size", "required": True, "type": "enum"}]
    assert "custom_tools[0].input_schema[0].enum_options" in errors_of(
        AssistantUpdate, {"custom_tools": [tool(input_schema=enum_without_options)]}
    )


def test_urls_and_emails() -> None:
    assert "precall_lookup_url" in errors_of(
        AssistantUpdate, {"precall_lookup_url": "https://crm.example.com/lookup"}
    )
    AssistantUpdate.model_validate({"precall_lookup_url": "https://crm.example.com/p/{{phone}}"})
    assert "webhook_url" in errors_of(AssistantUpdate, {"webhook_url": "not a url"})
    assert "logo_url" in errors_of(AssistantUpdate, {"logo_url": "javascript:alert(1)"})
    body = AssistantUpdate.model_validate({"email_notification_address": "a@x.com, b@y.org"})
    assert body.email_notification_address == "a@x.com, b@y.org"  # kept as sent
    assert "email_notification_address" in errors_of(
        AssistantUpdate, {"email_notification_address": "a@x.com, nobody"}
    )


@pytest.mark.parametrize(
    ("llm_model", "path"),
    [
        ({"type": "dedicated-instance", "name": "gpt-5"}, "llm_model.name"),
        ({"type": "openrouter", "openrouter_model_id": "x/y"}, "llm_model.openrouter_provider"),
        ({"type": "custom", "api_key": "k", "api_url": "x", "model_name": "m"},
         "llm_model.api_url"),
        ({"type": "realtime", "provider": "openai"}, "llm_model.realtime_model_id"),
        ({"type": "dedicated-instance", "name": "gpt-4.1", "api_key": "k"}, "llm_model.api_key"),
        ({"type": "quantum"}, "llm_model"),
    ],
)  # fmt: skip
def test_llm_model_matches_exactly_one_shape(llm_model: dict[str, Any], path: str) -> None:
    assert path in errors_of(AssistantUpdate, {"llm_model": llm_model})


def test_structured_output_and_outcomes() -> None:
    fields = [{"name": "email", "required": True, "type": "string"}] * 2
    assert "structured_output_config" in errors_of(
        AssistantUpdate, {"structured_output_config": fields}
    )
    assert "email_notification_outcomes[0]" in errors_of(
        AssistantUpdate, {"email_notification_outcomes": ["ai_averse"]}
    )


def test_slack_accepts_the_legacy_single_channel() -> None:
    body = AssistantUpdate.model_validate(
        {
            "slack": {
                "channel_id": "C1",
                "channel_name": "sales",
                "connection_id": "conn",
                "outcomes": ["interested"],
            }
        }
    )
    assert body.slack is not None
    assert [c.id for c in body.slack.channels] == ["C1"]
    assert "slack.channels" in errors_of(
        AssistantUpdate, {"slack": {"connection_id": "c", "outcomes": [], "channels": []}}
    )


def test_prompt_flow_edges_join_nodes() -> None:
    node = {"id": "n1", "type": "promptBlock", "data": {"title": "t", "body": "b"},
            "position": {"x": 0, "y": 0}}  # fmt: skip
    flow = {"nodes": [node], "edges": [{"id": "e1", "source": "n1", "target": "n2"}]}
    assert "prompt_flow.edges" in errors_of(AssistantUpdate, {"prompt_flow": flow})


def test_nul_characters_are_refused_with_their_path() -> None:
    errors = errors_of(
        AssistantUpdate,
        {"prompt": "a\u0000b", "faq_items": [{"question": "q\u0000", "answer": ""}]},
    )
    assert errors == {"prompt": "must not contain the NUL character (\\u0000)"}


def test_sdk_011_retry_config_takes_defaults_for_missing_fields() -> None:
    window = {
        "calling_window_start_time": "09:00",
        "calling_window_end_time": "17:00",
        "retry_delay_seconds": 60,
    }
    body = AssistantUpdate.model_validate(
        {"call_retry_config": {"calling_windows": [window], "max_retry_attempts": 4}}
    )
    assert body.call_retry_config is not None
    assert body.call_retry_config.allowed_days == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]
    assert body.call_retry_config.call_twice_in_a_row is False
