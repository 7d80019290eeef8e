"""What an assistant is when a field is not given (documented in docs/assistants.md)."""

from __future__ import annotations

from typing import Any

DEFAULT_LLM_MODEL: dict[str, Any] = {"type": "dedicated-instance", "name": "gpt-4.1"}
DEFAULT_STT_MODEL = "stt-rt-v5"  # the newest Soniox realtime model
DEFAULT_TRANSFER_MODE = "cold"
LEGACY_TRANSFER_LABEL = "Default"

DEFAULT_CALL_RETRY_CONFIG: dict[str, Any] = {
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
    "timezone": None,
}

DEFAULT_CONFIG: dict[str, Any] = {
    "after_call_sms_outcomes": None,
    "after_call_sms_prompt": None,
    "background_sound": None,
    "background_sound_volume": 0.5,
    "calendly": None,
    "call_retry_config": DEFAULT_CALL_RETRY_CONFIG,
    "cartesia_dictionary_pronunciation_id": None,
    "custom_tools": [],
    "email_notification_address": None,
    "email_notification_language": "en",
    "email_notification_outcomes": None,
    "end_of_call_sentence": None,
    "first_sentence": None,
    "first_sentence_delay_ms": 400,
    "first_sentence_mode": "generated",
    "from_phone_number": None,
    "human_transfer_mode": None,
    "ivr_navigation_enabled": False,
    "llm_model": DEFAULT_LLM_MODEL,
    "logo_url": None,
    "max_call_duration_secs": 600.0,
    "max_duration_end_message": None,
    "position": None,
    "precall_lookup_url": None,
    "prompt_flow": None,
    "slack": None,
    "sms_enabled": False,
    "sms_template": None,
    "structured_output_config": [],
    "structured_output_prompt": None,
    "stt_context": None,
    "stt_model": DEFAULT_STT_MODEL,
    "thinking_sound": None,
    "thinking_sound_probability": 0.5,
    "thinking_sound_volume": 0.5,
    "transfer_destinations": None,
    "voice": None,
    "voicemail_message": None,
    "voicemail_sms_prompt": None,
    "warm_transfer_summary_instructions": None,
    "webhook_url": None,
    "zoho": None,
}


def effective_transfer_mode(config: dict[str, Any]) -> str | None:
    """The transfer mode in force: none without destinations, cold unless set."""
    if not config.get("transfer_destinations"):
        return None
    return str(config.get("human_transfer_mode") or DEFAULT_TRANSFER_MODE)
