"""One older ``revox`` SDK's ``client.call`` methods against a running server (not a
pytest module).

Run by ``test_calls_older_sdks.py`` as ``python calls_older_sdk_flow.py CONFIG_JSON`` with
``PYTHONPATH=.sdk/<version>``, so ``import revox`` is that version. ``CONFIG_JSON`` gives
``base_url``, ``api_key``, ``assistant_id`` (an assistant every version can read, whose
texts use ``{{first_name}}``) and ``seeded``: call ids by what was written into them
(``finished``, ``paused``, ``post_processing``, ``not_launched``). Every call uses strict
response validation; the last line of output is JSON with the failed steps.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

import revox
from revox import ConflictError, Revox

VERSION = revox.__version__
PHONE = "+14155552671"
VARIABLES = {"first_name": "Ada"}
# The statuses this version's Call.status lists; newer ones are shown as a known one.
SHOWN_AS = {
    "0.1.1": {"paused": "scheduled", "post_processing": "calling", "not_launched": "initializing"},
    "0.2.0": {"not_launched": "initializing"},
    "0.3.0": {"not_launched": "initializing"},
}


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(f"SDK {VERSION}: {message}")


def equal(actual: Any, expected: Any, what: str) -> None:
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def at_least(version: str) -> bool:
    return tuple(map(int, VERSION.split("."))) >= tuple(map(int, version.split(".")))


def inline_assistant() -> dict[str, Any]:
    """This version's inline assistant parameters, with legacy fields where it has them."""
    body: dict[str, Any] = {
        "prompt": "Remind {{first_name}} of the visit.",
        "first_sentence": "Hello {{first_name}}!",
        "first_sentence_mode": "static",
        "voice": {"id": "voice_1", "provider": "elevenlabs", "speed": 1.1},
        "llm_model": {
            "type": "openrouter",
            "openrouter_model_id": "openai/gpt-4.1",
            "openrouter_provider": "openai",
        },
        "faq_items": [{"question": "Where?", "answer": "Main street."}],
    }
    if at_least("0.2.0"):
        body["call_retry_config"] = {
            "allowed_days": ["monday"],
            "call_twice_in_a_row": False,
            "calling_windows": [
                {
                    "calling_window_start_time": "9am",
                    "calling_window_end_time": "5pm",
                    "retry_delay_seconds": 600,
                }
            ],
            "max_retry_attempts": 2,
            "timezone": "America/New_York",
        }
        body["stt_model"] = "stt-rt-v4"
    else:  # 0.1.1's retry config has neither allowed_days nor call_twice_in_a_row
        body["call_retry_config"] = {
            "calling_windows": [
                {
                    "calling_window_start_time": "09:00",
                    "calling_window_end_time": "17:00",
                    "retry_delay_seconds": 600,
                }
            ],
            "max_retry_attempts": 2,
        }
    if at_least("0.4.0"):
        body["transfer_destinations"] = [{"label": "Desk", "phone_number": "+14155552672"}]
    else:
        body["transfer_phone_number"] = "+14155552672"
        if at_least("0.2.0"):
            body["email_notification_language"] = "fr"
            body["slack"] = {
                "channel_id": "C0SALES",
                "channel_name": "sales",
                "connection_id": "conn_slack",
                "outcomes": ["interested"],
            }
    return body


def create_flow(client: Revox, assistant_id: str) -> None:
    created = client.call.create(
        phone_number="(415) 555-2671",
        assistant_id=assistant_id,
        prompt_variables=VARIABLES,
        metadata={"sdk": VERSION},
        concurrency={"key": "legacy"},
    ).call
    equal(created.to_phone_number, PHONE, "normalised number")
    check(created.status in ("scheduled", "queued_for_calling"), f"status {created.status}")
    equal(created.metadata, {"sdk": VERSION}, "metadata")
    equal(client.call.retrieve(created.id).to_dict(), {"call": created.to_dict()}, "retrieve")

    inline = inline_assistant()
    call = client.call.create(
        phone_number=PHONE,
        assistant=inline,
        prompt_variables=VARIABLES,  # type: ignore[arg-type]
    ).call
    snapshot = call.to_dict()["assistant"]
    equal(snapshot["prompt"], inline["prompt"], "inline prompt")
    equal(snapshot["id"], f"inline-{call.id}", "inline assistant id")
    equal(snapshot.get("transfer_phone_number"), "+14155552672", "legacy transfer number")
    equal(snapshot["call_retry_config"]["max_retry_attempts"], 2, "inline retry config round trip")
    if not at_least("0.4.0"):
        forced = client.call.create(
            phone_number=PHONE,
            assistant_id=assistant_id,
            prompt_variables=VARIABLES,
            force_now=True,
        ).call
        equal(forced.status, "queued_for_calling", "force_now dials now")


def read_seeded(client: Revox, seeded: dict[str, str]) -> None:
    finished = client.call.retrieve(seeded["finished"]).call
    equal(finished.status, "completed", "finished status")
    last = finished.last_call_attempt
    check(last is not None, "last_call_attempt")
    assert last is not None
    equal(last.result, "human", "attempt result")
    roles = [entry.role for entry in last.transcript or []]
    human_agent = "human_agent" if at_least("0.2.0") else "assistant"
    equal(roles, ["assistant", "user", human_agent, "tool"], "transcript roles")
    for name in ("paused", "post_processing", "not_launched"):
        shown = client.call.retrieve(seeded[name]).call.status
        equal(shown, SHOWN_AS.get(VERSION, {}).get(name, name), f"{name} call status")


def legacy_list(client: Revox, seeded: dict[str, str]) -> None:
    """SDK 0.1.1 only: ``GET /call``."""
    listed = client.call.list(page=0, page_size=100).calls  # type: ignore[attr-defined]
    by_id = {entry.id: entry for entry in listed}
    check(seeded["finished"] in by_id, "the finished call is listed under its id")
    equal(by_id[seeded["finished"]].status, "completed", "listed attempt status")
    scheduled = client.call.list(page=0, page_size=100, statuses=["scheduled"]).calls  # type: ignore[attr-defined]
    check(seeded["paused"] in {e.id for e in scheduled}, "a paused call lists as scheduled")
    check(seeded["finished"] not in {e.id for e in scheduled}, "status filter")


def modern_methods(client: Revox, assistant_id: str, seeded: dict[str, str]) -> None:
    """SDK 0.3.0 and later: search, export, phone history, pause, resume, cancel."""
    lists: dict[str, Any] = {
        "assignee_ids": [],
        "assistant_ids": [assistant_id],
        "campaign_ids": [],
        "directions": [],
        "from_phone_numbers": [],
        "outcomes": [],
        "results": [],
        "statuses": [],
    }
    found = client.call.search(**lists, page=0, page_size=100, call_ids=list(seeded.values()))
    equal({c.id for c in found.calls}, set(seeded.values()), "search by ids")
    equal(found.total_count, len(seeded), "total_count")
    outcomes = ["do_not_contact", "interested"] if not at_least("0.4.0") else ["interested"]
    interested = client.call.search(**{**lists, "outcomes": outcomes}, page=0, page_size=100).calls
    equal([c.id for c in interested], [seeded["finished"]], "outcome filter")
    exported = client.call.export(
        filters={**lists, "page": 0, "page_size": 10},  # type: ignore[typeddict-item]
        include_metadata=True,
    )
    check(seeded["finished"] in exported.csv, "export contains the finished call")
    history = client.call.phone_history().phone_history
    check(history[PHONE].reached_human, "phone history: reached a human")

    call = client.call.create(
        phone_number=PHONE, assistant_id=assistant_id, prompt_variables=VARIABLES
    ).call
    equal(client.call.pause(call.id).success, True, "pause")
    try:
        client.call.pause(call.id)
    except ConflictError:
        pass
    else:
        raise AssertionError(f"SDK {VERSION}: pausing a paused call did not raise a 409")
    equal(client.call.resume(call.id).success, True, "resume")
    equal(client.call.cancel(call.id).success, True, "cancel")
    equal(client.call.retrieve(call.id).call.status, "cancelled", "cancelled")


def main(config: dict[str, Any]) -> int:
    """Run every step this version has, all of them even after one fails."""
    failed = []
    seeded: dict[str, str] = config["seeded"]
    assistant_id: str = config["assistant_id"]
    with Revox(
        api_key=config["api_key"],
        base_url=config["base_url"],
        max_retries=0,
        _strict_response_validation=True,
    ) as client:
        steps: dict[str, Callable[[], None]] = {
            "create": lambda: create_flow(client, assistant_id),
            "read_seeded": lambda: read_seeded(client, seeded),
        }
        if hasattr(client.call, "list"):
            steps["legacy_list"] = lambda: legacy_list(client, seeded)
        if hasattr(client.call, "search"):
            steps["modern_methods"] = lambda: modern_methods(client, assistant_id, seeded)
        for name, step in steps.items():
            try:
                step()
            except Exception:
                failed.append(name)
                print(f"--- step {name!r} failed with SDK {VERSION}:", file=sys.stderr)
                traceback.print_exc()
    print(json.dumps({"version": VERSION, "steps": list(steps), "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
