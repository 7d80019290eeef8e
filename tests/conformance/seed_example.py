"""The full example body of the "Update an assistant" docs page, with valid values.

The docs example (``/work/shared/seed/000_a0890ae61c4aa8c5.txt``) uses placeholder
values (``"x"``, ``"timezone"``, ``-9007199254740991``...); each is replaced by the
nearest valid value, field for field. ``faq_items[0].id`` is the id of an existing
FAQ item, so the update keeps that item's identity. ``transfer_phone_number`` is not a
0.5.0 update parameter, so it goes in ``extra_body``.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.conformance.bodies import OTHER_PHONE, PHONE

# Response-only fields of the example: id, organization_id, created_at, updated_at,
# pending_faq_count. Everything else is sent.
_EXAMPLE: dict[str, Any] = {
    "after_call_sms_prompt": "after_call_sms_prompt",
    "background_sound": "audio/office.ogg",
    "background_sound_volume": 0,
    "calendly": {"connection_id": "connection_id", "event_type_id": "event_type_id"},
    "call_retry_config": {
        "allowed_days": ["monday"],
        "call_twice_in_a_row": True,
        "calling_windows": [
            {
                "calling_window_end_time": "17:00",
                "calling_window_start_time": "09:00",
                "retry_delay_seconds": 1,
            }
        ],
        "max_retry_attempts": 1,
        "timezone": "America/New_York",
    },
    "custom_tools": [
        {
            "body_template": '{"x": "{{x}}"}',
            "description": "x",
            "headers": [{"key": "x", "value": "value"}],
            "input_schema": [
                {
                    "name": "x",
                    "required": True,
                    "type": "enum",
                    "description": "description",
                    "enum_options": ["string"],
                }
            ],
            "method": "GET",
            "name": "name",
            "query_params": [{"key": "x", "value": "value"}],
            "url": "https://example.com/x",
        }
    ],
    "email_notification_address": "dev@stainless.com",
    "email_notification_outcomes": ["not_interested"],
    "end_of_call_sentence": "end_of_call_sentence",
    "first_sentence": "first_sentence",
    "first_sentence_delay_ms": 250,
    "first_sentence_mode": "generated",
    "from_phone_number": PHONE,
    "human_transfer_mode": "warm",
    "ivr_navigation_enabled": True,
    "llm_model": {"name": "gpt-4.1", "type": "dedicated-instance"},
    "max_call_duration_secs": 300,
    "max_duration_end_message": "max_duration_end_message",
    "name": "name",
    "prompt": "prompt",
    "sms_enabled": True,
    "sms_template": "sms_template",
    "structured_output_config": [
        {
            "name": "x",
            "required": True,
            "type": "enum",
            "description": "description",
            "enum_options": ["string"],
        }
    ],
    "structured_output_prompt": "structured_output_prompt",
    "thinking_sound": "city-ambience.ogg",
    "thinking_sound_probability": 0,
    "thinking_sound_volume": 0,
    "voice": {"id": "x", "provider": "cartesia", "speed": 0.6, "volume": 0.5},
    "voicemail_message": "voicemail_message",
    "voicemail_sms_prompt": "voicemail_sms_prompt",
    "warm_transfer_summary_instructions": "warm_transfer_summary_instructions",
    "webhook_url": "https://example.com/webhook",
}
TRANSFER_PHONE_NUMBER = OTHER_PHONE


def example_update(faq_id: str) -> dict[str, Any]:
    """The example's SDK 0.5.0 update parameters (without ``transfer_phone_number``)."""
    body = copy.deepcopy(_EXAMPLE)
    body["faq_items"] = [
        {
            "answer": "answer",
            "question": "question",
            "id": faq_id,
            "needs_human_answer": True,
            "source": "human",
        }
    ]
    return body
