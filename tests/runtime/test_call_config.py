"""Resolving an assistant into a call: variables, knowledge, opening, tools, limits."""

from __future__ import annotations

from typing import Any

import pytest

from openrevox.runtime.call_config import resolve_call_config
from openrevox.runtime.errors import MissingPromptVariables

BASE: dict[str, Any] = {"prompt": "Call {{name}} about order {{order_id}}."}
VARS = {"name": "Ann", "order_id": "A-17"}


def names(assistant: dict[str, Any]) -> list[str]:
    return [t.name for t in resolve_call_config({**BASE, **assistant}, VARS).tools]


def test_variables_are_filled_everywhere() -> None:
    config = resolve_call_config(
        {
            **BASE,
            "first_sentence_mode": "static",
            "first_sentence": "Hi {{name}}!",
            "end_of_call_sentence": "Bye {{ name }}.",
            "max_duration_end_message": "Sorry {{name}}, time is up.",
            "voicemail_message": "Call us back about {{order_id}}.",
            "sms_enabled": True,
            "sms_template": "Your order {{order_id}} ships today.",
        },
        VARS,
    )
    assert config.system_prompt.startswith("Call Ann about order A-17.")
    assert config.first_sentence.text == "Hi Ann!"
    assert config.end_of_call_sentence == "Bye Ann."
    assert config.limits.max_duration_end_message == "Sorry Ann, time is up."
    assert config.voicemail_message == "Call us back about A-17."
    assert config.sms_template == "Your order A-17 ships today."
    assert "{{" not in repr(config.system_prompt)


def test_missing_variables_are_refused_listing_every_name() -> None:
    assistant = {
        **BASE,
        "first_sentence_mode": "static",
        "first_sentence": "Hello {{title}} {{name}}",
        "custom_tools": [
            {
                "name": "lookup",
                "description": "Look up",
                "method": "GET",
                "url": "https://example.test/{{tenant}}/orders/{{order}}",
                "headers": [{"key": "X-Key", "value": "{{api_token}}"}],
                "query_params": [],
                "body_template": None,
                "input_schema": [{"name": "order", "type": "string", "required": True}],
            }
        ],
    }
    with pytest.raises(MissingPromptVariables) as caught:
        resolve_call_config(assistant, {"name": "Ann"})
    # ``order`` is the tool's own argument, so it is not a prompt variable.
    assert caught.value.names == ["api_token", "order_id", "tenant", "title"]
    assert "api_token, order_id, tenant, title" in caught.value.message
    assert caught.value.fields[0].path == "prompt_variables.api_token"


def test_unused_first_sentence_needs_no_variables() -> None:
    config = resolve_call_config(
        {**BASE, "first_sentence_mode": "none", "first_sentence": "Hi {{nobody}}"}, VARS
    )
    assert config.first_sentence.mode == "none"
    assert config.first_sentence.text is None


def test_first_sentence_plan_and_delay() -> None:
    generated = resolve_call_config(
        {**BASE, "first_sentence": "Ask for {{name}}.", "first_sentence_delay_ms": 1500}, VARS
    )
    assert generated.first_sentence.mode == "generated"
    assert generated.first_sentence.delay_secs == 1.5
    assert "You speak first. Ask for Ann." in generated.system_prompt
    waiting = resolve_call_config({**BASE, "first_sentence_mode": "none"}, VARS)
    assert "The callee speaks first" in waiting.system_prompt


def test_faq_items_become_knowledge_except_unanswered_ones() -> None:
    config = resolve_call_config(
        {
            **BASE,
            "faq_items": [
                {"question": "Opening hours?", "answer": "9 to 5.", "needs_human_answer": False},
                {"question": "Parking?", "answer": "", "needs_human_answer": True},
            ],
        },
        VARS,
    )
    assert "Q: Opening hours?\nA: 9 to 5." in config.system_prompt
    assert "Parking" not in config.system_prompt
    assert len(config.faq) == 1


def test_only_configured_tools_are_offered() -> None:
    assert names({}) == ["end_call", "record_unanswered_question"]
    assert names(
        {
            "transfer_destinations": [{"label": "Sales", "phone_number": "+33612345678"}],
            "sms_enabled": True,
            "ivr_navigation_enabled": True,
            "calendly": {"connection_id": "c1", "event_type_id": "e1"},
        }
    ) == [
        "end_call",
        "transfer_call",
        "send_sms",
        "send_dtmf",
        "skip_turn",
        "check_availability",
        "book_meeting",
        "record_unanswered_question",
    ]


def test_transfer_tool_offers_a_choice_only_with_several_destinations() -> None:
    one = resolve_call_config(
        {**BASE, "transfer_destinations": [{"label": "Sales", "phone_number": "+33612345678"}]},
        VARS,
    )
    spec = one.tool("transfer_call")
    assert spec is not None and "destination" not in spec.properties
    assert one.transfer is not None and one.transfer.mode == "cold"
    several = resolve_call_config(
        {
            **BASE,
            "human_transfer_mode": "warm",
            "transfer_destinations": [
                {"label": "Sales", "phone_number": "+33612345678"},
                {"label": "Support", "phone_number": "+33612345679"},
            ],
        },
        VARS,
    )
    spec = several.tool("transfer_call")
    assert spec is not None
    assert spec.properties["destination"]["enum"] == ["Sales", "Support"]
    assert spec.required == ("destination",)
    assert several.transfer is not None and several.transfer.mode == "warm"


def test_custom_tool_input_schema_becomes_json_schema() -> None:
    config = resolve_call_config(
        {
            **BASE,
            "custom_tools": [
                {
                    "name": "check_stock",
                    "description": "Check stock",
                    "method": "POST",
                    "url": "https://example.test/stock",
                    "headers": [],
                    "query_params": [],
                    "body_template": '{"sku": "{{sku}}", "qty": {{qty}}}',
                    "input_schema": [
                        {"name": "sku", "type": "string", "required": True, "description": "SKU"},
                        {"name": "qty", "type": "number", "required": False},
                        {
                            "name": "size",
                            "type": "enum",
                            "required": True,
                            "enum_options": ["S", "M"],
                        },
                        {"name": "when", "type": "date", "required": False},
                    ],
                }
            ],
        },
        VARS,
    )
    spec = config.tool("check_stock")
    assert spec is not None and spec.kind == "custom"
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "sku": {"type": "string", "description": "SKU"},
            "qty": {"type": "number"},
            "size": {"type": "string", "enum": ["S", "M"]},
            "when": {"type": "string", "format": "date", "description": "YYYY-MM-DD"},
        },
        "required": ["sku", "size"],
    }


def test_limits() -> None:
    config = resolve_call_config(
        {**BASE, "max_call_duration_secs": 90}, VARS, user_inactivity_secs=12
    )
    assert config.limits.max_duration_secs == 90
    assert config.limits.user_inactivity_secs == 12
