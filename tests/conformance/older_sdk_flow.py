"""One older ``revox`` SDK's whole flow against a running server (not a pytest module).

Run by ``test_older_sdks.py`` as
``python older_sdk_flow.py BASE_URL API_KEY MODERN_ID STEP[,STEP...]`` with
``PYTHONPATH=.sdk/<version>``, so ``import revox`` is that version. Every call uses
strict response validation; any failed check or exception exits non-zero. The last
line of output is JSON with the ids it created and the failed steps.

``MODERN_ID`` is an assistant created with SDK 0.5.0 fields (one transfer
destination, Slack ``channels``); this version must read it and patch its name.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

import revox
from revox import NotFoundError, Revox

VERSION = revox.__version__
PHONE = "+14155552671"
OTHER_PHONE = "+14155552672"
WINDOW = {
    "calling_window_start_time": "09:00",
    "calling_window_end_time": "17:00",
    "retry_delay_seconds": 900,
}


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(f"SDK {VERSION}: {message}")


def equal(actual: Any, expected: Any, what: str) -> None:
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def at_least(version: str) -> bool:
    return tuple(map(int, VERSION.split("."))) >= tuple(map(int, version.split(".")))


def create_body() -> dict[str, Any]:
    """This version's create parameters, with non-default values."""
    body: dict[str, Any] = {
        "name": f"Made by SDK {VERSION}",
        "prompt": "You call {{first_name}}.",
        "background_sound": "audio/office.ogg",
        "calendly": {"connection_id": "conn_cal", "event_type_id": "evt_1"},
        "end_of_call_sentence": "Bye.",
        "faq_items": [{"question": "Hours?", "answer": "9 to 5."}],
        "first_sentence": "Hello!",
        "first_sentence_delay_ms": 650,
        "first_sentence_mode": "static",
        "ivr_navigation_enabled": True,
        "llm_model": {
            "type": "openrouter",
            "openrouter_model_id": "openai/gpt-4.1",
            "openrouter_provider": "openai",
        },
        "max_call_duration_secs": 420,
        "structured_output_config": [{"name": "email", "required": True, "type": "string"}],
        "voice": {"id": "voice_1", "provider": "elevenlabs", "speed": 1.1},
        "voicemail_message": "Call us back.",
        "webhook_url": "https://hooks.example.com/done",
    }
    if at_least("0.2.0"):
        body["call_retry_config"] = {
            "allowed_days": ["tuesday"],
            "call_twice_in_a_row": True,
            "calling_windows": [WINDOW],
            "max_retry_attempts": 4,
            "timezone": "Europe/Paris",
        }
        body.update(
            after_call_sms_outcomes=["interested"],
            email_notification_address="ops@example.com",
            email_notification_outcomes=["completed"],
            from_phone_number=PHONE,
            human_transfer_mode="warm",
            sms_enabled=True,
            stt_model="stt-rt-v4",
            thinking_sound="hold_music.ogg",
        )
    if at_least("0.4.0"):
        body["transfer_destinations"] = [{"label": "Desk", "phone_number": OTHER_PHONE}]
        body["slack"] = {
            "channels": [{"id": "C0SALES", "name": "sales"}],
            "connection_id": "conn_slack",
            "outcomes": ["interested"],
        }
    else:
        body["transfer_phone_number"] = OTHER_PHONE
        if at_least("0.2.0"):
            body["email_notification_language"] = "fr"
            body["slack"] = {
                "channel_id": "C0SALES",
                "channel_name": "sales",
                "connection_id": "conn_slack",
                "outcomes": ["interested"],
            }
    return body


def check_round_trip(assistant: dict[str, Any], body: dict[str, Any]) -> None:
    for field, sent in body.items():
        if field == "faq_items":
            got = [(f["question"], f["answer"]) for f in assistant["faq_items"]]
            equal(got, [(f["question"], f["answer"]) for f in sent], field)
        elif field == "call_retry_config" or field == "slack":
            for key, value in sent.items():
                equal(assistant[field].get(key), value, f"{field}.{key}")
        else:
            equal(assistant.get(field), sent, field)


def own_flow(client: Revox) -> dict[str, str]:
    body = create_body()
    created = client.assistants.create(**body).assistant
    data = created.to_dict()
    check_round_trip(data, body)

    equal(client.assistants.retrieve(created.id).to_dict(), data, "retrieve after create")

    changes: dict[str, Any] = {"name": "Renamed", "first_sentence_delay_ms": 800}
    if not at_least("0.4.0"):
        changes["transfer_phone_number"] = PHONE
    updated_data = client.assistants.update(created.id, **changes).assistant.to_dict()
    for field, value in changes.items():
        equal(updated_data.get(field), value, f"update {field}")
    equal(updated_data["prompt"], body["prompt"], "prompt untouched by update")
    equal(client.assistants.retrieve(created.id).to_dict(), updated_data, "retrieve after update")
    if not at_least("0.4.0"):  # null clears the transfer destinations
        cleared = client.assistants.update(created.id, transfer_phone_number=None).assistant
        equal(cleared.to_dict().get("transfer_phone_number"), None, "cleared transfer number")
        updated_data = client.assistants.update(created.id, transfer_phone_number=PHONE)
        updated_data = updated_data.assistant.to_dict()

    listed = {a.id: a.to_dict() for a in client.assistants.list().assistants}
    equal(listed.get(created.id), updated_data, "listed assistant")

    ids = {"created": created.id}
    if hasattr(client.assistants, "clone"):
        twin = client.assistants.clone(created.id).assistant
        check(twin.id != created.id, "clone has a new id")
        equal(twin.name, "Renamed", "clone name")
        ids["clone"] = twin.id

    deleted = client.assistants.delete(created.id)
    if hasattr(deleted, "success"):
        equal(deleted.success, True, "delete success")
    try:
        client.assistants.retrieve(created.id)
    except NotFoundError:
        pass
    else:
        raise AssertionError(f"SDK {VERSION}: retrieve after delete did not raise NotFoundError")
    return ids


def retry_config_without_days(client: Revox) -> None:
    """SDK 0.1.1's call_retry_config has no allowed_days/call_twice_in_a_row: defaults apply."""
    sent = {"calling_windows": [WINDOW], "max_retry_attempts": 4, "timezone": "Europe/Paris"}
    created = client.assistants.create(name="Retry", prompt="p", call_retry_config=sent)
    got = created.assistant.to_dict()["call_retry_config"]
    for key, value in sent.items():
        equal(got.get(key), value, f"call_retry_config.{key}")
    weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday"]
    equal(got.get("allowed_days"), weekdays, "default call_retry_config.allowed_days")
    equal(got.get("call_twice_in_a_row"), False, "default call_retry_config.call_twice_in_a_row")
    update = {**sent, "max_retry_attempts": 2}
    updated = client.assistants.update(created.assistant.id, call_retry_config=update)
    equal(updated.assistant.to_dict()["call_retry_config"].get("max_retry_attempts"), 2, "update")


def read_modern(client: Revox, modern_id: str) -> None:
    """An assistant made with 0.5.0 fields validates here and shows the legacy mirrors."""
    modern = client.assistants.retrieve(modern_id).to_dict()
    listed = {a.id: a.to_dict() for a in client.assistants.list().assistants}
    equal(listed.get(modern_id), modern, "listed modern assistant")
    if at_least("0.4.0"):
        equal(len(modern["transfer_destinations"]), 1, "transfer_destinations")
        equal(modern["slack"]["channels"][0]["id"], "C0MODERN", "slack.channels[0].id")
    else:
        equal(modern.get("transfer_phone_number"), PHONE, "legacy transfer_phone_number")
        if at_least("0.2.0"):
            equal(modern["slack"].get("channel_id"), "C0MODERN", "legacy slack.channel_id")
            equal(modern.get("email_notification_language"), "en", "email_notification_language")
    client.assistants.update(modern_id, name=f"Touched by {VERSION}")


def account(client: Revox) -> None:
    if at_least("0.3.0"):
        equal(client.auth_status.retrieve().authenticated, True, "auth_status")
        user = client.users.retrieve().user
    else:
        user = client.users.me.retrieve().user
    check(bool(user.email), "users: email")


def main(base_url: str, api_key: str, modern_id: str, steps: str) -> int:
    """Run the named steps (comma-separated), all of them even after one fails."""
    result: dict[str, Any] = {"version": VERSION}
    failed = []
    with Revox(
        api_key=api_key, base_url=base_url, max_retries=0, _strict_response_validation=True
    ) as client:
        known: dict[str, Callable[[], Any]] = {
            "account": lambda: account(client),
            "own_flow": lambda: result.update(own_flow(client)),
            "read_modern": lambda: read_modern(client, modern_id),
            "retry_config_without_days": lambda: retry_config_without_days(client),
        }
        for name in steps.split(","):
            try:
                known[name]()
            except Exception:
                failed.append(name)
                print(f"--- step {name!r} failed with SDK {VERSION}:", file=sys.stderr)
                traceback.print_exc()
    result["failed"] = failed
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
