"""``client.call`` (SDK 0.5.0, sync client, strict validation): every method.

Attempts are what the dispatcher and the runtime write; these tests write them straight
into the server's database (``seed``) so that every field of a finished call is read
back through the SDK's types.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from revox import BadRequestError, ConflictError, NotFoundError, Revox
from sqlalchemy import create_engine, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from openrevox.storage.models import Call, CallAttempt, new_id
from tests.conformance.bodies import PHONE, full_create_body, wire
from tests.conformance.conftest import Deployment
from tests.conformance.test_errors import error_of

WEEK = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ALWAYS = {
    "allowed_days": WEEK,
    "call_twice_in_a_row": False,
    "calling_windows": [
        {
            "calling_window_start_time": "00:00",
            "calling_window_end_time": "24:00",
            "retry_delay_seconds": 60,
        }
    ],
    "max_retry_attempts": 3,
}
VARIABLES = {"first_name": "Ada", "company": "Acme"}
# The variables full_create_body()'s texts and tools use.
FULL_VARIABLES = ["api_key", "company", "first_name", "link", "quantity", "store_id"]
EVERY_LIST = {
    "assignee_ids": [],
    "assistant_ids": [],
    "campaign_ids": [],
    "directions": [],
    "from_phone_numbers": [],
    "outcomes": [],
    "results": [],
    "statuses": [],
}
FAR_SUNDAY = datetime(2031, 1, 5, 12, 0, tzinfo=UTC)


def sync_url(database_url: str) -> str:
    """The server's async database URL for a synchronous engine in the test process."""
    url = make_url(database_url)
    driver = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return url.set(drivername=driver).render_as_string(hide_password=False)


def seed(deployment: Deployment, call_id: str, user_id: str, **call_values: Any) -> str:
    """Give a call one finished attempt with every field set; returns the attempt id."""
    engine = create_engine(sync_url(deployment.database_url))
    attempt_id = new_id()
    start = datetime.now(UTC) - timedelta(hours=1)
    attempt = CallAttempt(
        id=attempt_id,
        call_id=call_id,
        attempt_number=1,
        status="completed",
        result="human",
        ended_by="agent",
        end_reason="tool_end_call",
        phone_number=PHONE,
        started_at=start,
        answered_at=start + timedelta(seconds=4),
        ended_at=start + timedelta(seconds=94),
        recording_url="https://recordings.example.com/1.wav",
        transcript=[
            {"role": "assistant", "content": "Hello Ada"},
            {"role": "user", "content": "Hi"},
            {"role": "human_agent", "content": "Taking over"},
            {
                "role": "tool",
                "content": "",
                "tool_name": "end_call",
                "tool_arguments": {"reason": "done"},
                "tool_is_error": False,
                "tool_output": "ok",
            },
        ],
        post_call_transcript=[{"role": "assistant", "content": "Hello Ada"}],
        speech_events=[
            {
                "id": "se1",
                "is_real_turn": True,
                "speaker": "agent",
                "started_speaking_at_ms": 10.0,
                "stopped_speaking_at_ms": 900.5,
                "transcript": "Hello Ada",
                "llm_system_prompt": "[]",
                "llm_ttft_ms": 310.0,
                "llm_winner_model": "gpt-4.1",
                "tts_ttfb_ms": 120.0,
                "was_cut": False,
                "stt_transcription_delay_ms": None,
            }
        ],
        email_log=[
            {
                "id": "em1",
                "created_at": "2026-01-05T10:00:00Z",
                "from_address": "calls@openrevox.test",
                "resend_message_id": None,
                "subject": "Call summary",
                "to_emails": ["ops@example.com"],
            }
        ],
        sms_log=[
            {
                "id": "sms1",
                "created_at": "2026-01-05T10:00:00Z",
                "message_body": "Thanks",
                "provider": "twilio",
                "provider_message_id": "SM1",
                "to_phone_number": PHONE,
                "type": "after_call",
            }
        ],
        structured_output={"email": "ada@example.com", "budget": 1200},
        assistants_used=["n1"],
        handled_by_ai=True,
        handled_by_human=True,
        handled_by_user_id=user_id,
        provider="simulated",
        provider_call_id="sim-1",
        created_at=start,
        updated_at=start,
    )
    values = {
        "status": "completed",
        "next_attempt_at": None,
        "calls_count": 1,
        "result": "human",
        "outcome": "interested",
        "outcome_summary": "Wants a demo",
        "contact": {"first_name": "Ada", "last_name": "Lovelace", "company": "Acme"},
        "structured_output": {"email": "ada@example.com", "budget": 1200},
        "follow_up_emails": ["sales@example.com"],
        "slack_channel_ids": ["C0SALES"],
        "campaign_id": "camp-1",
        "assignee_id": user_id,
        **call_values,
    }
    try:
        with Session(engine) as session, session.begin():
            session.add(attempt)
            session.execute(update(Call).where(Call.id == call_id).values(**values))
    finally:
        engine.dispose()
    return attempt_id


def update_call(deployment: Deployment, call_id: str, **values: Any) -> None:
    """Write call columns as the dispatcher would (e.g. a status no API action sets)."""
    engine = create_engine(sync_url(deployment.database_url))
    try:
        with Session(engine) as session, session.begin():
            session.execute(update(Call).where(Call.id == call_id).values(**values))
    finally:
        engine.dispose()


def always_assistant(client: Revox, **fields: Any) -> str:
    body: dict[str, Any] = {
        "name": "Caller",
        "prompt": "You call {{first_name}} at {{company}}.",
        "call_retry_config": ALWAYS,
        **fields,
    }
    return client.assistants.create(**body).assistant.id


def test_create_and_retrieve_with_an_assistant_id(client: Revox) -> None:
    assistant_id = always_assistant(client)
    created = client.call.create(
        phone_number="(415) 555-2671",  # national: the organization is in the US
        assistant_id=assistant_id,
        prompt_variables=VARIABLES,
        metadata={"crm_id": "42"},
        concurrency={"key": "sales"},
        scheduled_at=FAR_SUNDAY,
    ).call
    assert created.to_phone_number == PHONE
    assert created.status == "scheduled"
    assert created.scheduled_at == "2031-01-05T12:00:00Z"  # every instant is allowed
    assert created.prompt_variables == VARIABLES and created.metadata == {"crm_id": "42"}
    assert created.assistant is not None and created.assistant.id == assistant_id
    assert created.call_attempts == [] and created.last_call_attempt is None
    assert created.contact.first_name is None
    assert created.direction == "outbound" and created.calls_count == 0
    assert wire(client.call.retrieve(created.id).call) == wire(created)

    now = client.call.create(
        phone_number=PHONE, assistant_id=assistant_id, prompt_variables=VARIABLES
    ).call
    assert now.status == "queued_for_calling"


def test_create_with_a_full_inline_assistant(client: Revox) -> None:
    inline = {k: v for k, v in full_create_body().items() if k != "name"}
    with pytest.raises(BadRequestError) as refused:
        client.call.create(phone_number=PHONE, assistant=inline, prompt_variables={})  # type: ignore[arg-type]
    error = error_of(refused.value)
    assert [f["path"] for f in error["fields"]] == [
        f"prompt_variables.{name}" for name in FULL_VARIABLES
    ]
    call = client.call.create(
        phone_number=PHONE,
        assistant=inline,  # type: ignore[arg-type]
        prompt_variables=dict.fromkeys(FULL_VARIABLES, "x"),
        skip_calling_window=True,
        from_phone_number="+14155550123",
    ).call
    snapshot = wire(call)["assistant"]
    assert snapshot["id"] == f"inline-{call.id}"
    assert snapshot["prompt"] == inline["prompt"]
    assert snapshot["custom_tools"] == inline["custom_tools"]
    assert snapshot["call_retry_config"] == inline["call_retry_config"]
    assert call.from_phone_number == "+14155550123"
    assert call.status == "queued_for_calling"


def test_a_finished_call_reads_back_with_every_field(client: Revox, deployment: Deployment) -> None:
    user_id = client.users.retrieve().user.id
    call_id = client.call.create(
        phone_number=PHONE,
        assistant_id=always_assistant(client),
        prompt_variables=VARIABLES,
    ).call.id
    attempt_id = seed(deployment, call_id, user_id)
    call = client.call.retrieve(call_id).call
    assert call.status == "completed" and call.is_completed is True
    assert call.outcome == "interested" and call.outcome_summary == "Wants a demo"
    assert call.contact.last_name == "Lovelace"
    assert call.campaign is not None and call.campaign.id == "camp-1"
    assert call.assignee is not None and call.assignee.id == user_id
    assert call.follow_up_emails == ["sales@example.com"]
    assert call.slack_channel_ids == ["C0SALES"]
    last = call.last_call_attempt
    assert last is not None and last.id == attempt_id
    assert last.result == "human" and last.end_reason == "tool_end_call"
    assert last.handled_by_user is not None and last.handled_by_user.id == user_id
    assert last.transcript is not None and last.transcript[2].role == "human_agent"
    assert last.speech_events is not None and last.speech_events[0].speaker == "agent"
    assert last.sms_log is not None and last.sms_log[0].provider == "twilio"
    assert last.email_log is not None and last.email_log[0].to_emails == ["ops@example.com"]
    found = client.call.search(**EVERY_LIST, page=0, page_size=10, call_ids=[call_id])  # type: ignore[arg-type]
    assert [wire(c) for c in found.calls] == [wire(call)]


def test_pause_resume_cancel_and_conflicts(client: Revox) -> None:
    call = client.call.create(
        phone_number=PHONE,
        assistant_id=always_assistant(client),
        prompt_variables=VARIABLES,
        scheduled_at=FAR_SUNDAY,
    ).call
    assert client.call.pause(call.id).success is True
    assert client.call.retrieve(call.id).call.status == "paused"
    with pytest.raises(ConflictError) as paused_twice:
        client.call.pause(call.id)
    assert error_of(paused_twice.value)["code"] == "conflict"
    assert "a call that is paused" in error_of(paused_twice.value)["message"]
    assert client.call.resume(call.id).success is True
    assert client.call.retrieve(call.id).call.status == "scheduled"
    with pytest.raises(ConflictError):
        client.call.resume(call.id)
    assert client.call.cancel(call.id).success is True
    cancelled = client.call.retrieve(call.id).call
    assert cancelled.status == "cancelled" and cancelled.is_cancelled is True
    for action in (client.call.cancel, client.call.pause, client.call.resume):
        with pytest.raises(ConflictError) as refused:
            action(call.id)
        assert "a call that is cancelled" in error_of(refused.value)["message"]


def test_search_filters_paging_and_sorting(client: Revox) -> None:
    assistant_id = always_assistant(client)
    tag = new_id()[:8]
    ids = [
        client.call.create(
            phone_number=PHONE,
            assistant_id=assistant_id,
            prompt_variables=VARIABLES,
            metadata={"batch": tag, "n": str(n)},
        ).call.id
        for n in range(3)
    ]
    client.call.pause(ids[1])
    every = client.call.search(**EVERY_LIST, page=0, page_size=2, query=tag)  # type: ignore[arg-type]
    assert every.total_count == 3
    assert [c.id for c in every.calls] == [ids[2], ids[1]]
    rest = client.call.search(**EVERY_LIST, page=1, page_size=2, query=tag)  # type: ignore[arg-type]
    assert [c.id for c in rest.calls] == [ids[0]]
    oldest_first = client.call.search(
        **{**EVERY_LIST, "assistant_ids": [assistant_id]},  # type: ignore[arg-type]
        page=0,
        page_size=10,
        sort_by="created_at",
        sort_direction="asc",
    )
    assert [c.id for c in oldest_first.calls] == ids
    paused = client.call.search(
        **{**EVERY_LIST, "statuses": ["paused"], "outcomes": ["none"], "results": ["none"]},  # type: ignore[arg-type]
        page=0,
        page_size=10,
        to_phone_number=PHONE,
        query=tag,
    )
    assert [c.id for c in paused.calls] == [ids[1]] and paused.total_count == 1
    with pytest.raises(BadRequestError) as bad:
        client.call.search(**EVERY_LIST, page=0, page_size=10, sort_by="colour")  # type: ignore[arg-type]
    assert error_of(bad.value)["fields"][0]["path"] == "sort_by"


def test_export_as_csv(client: Revox, deployment: Deployment) -> None:
    user_id = client.users.retrieve().user.id
    assistant_id = always_assistant(
        client, structured_output_config=[{"name": "budget", "required": False, "type": "number"}]
    )
    call_id = client.call.create(
        phone_number=PHONE,
        assistant_id=assistant_id,
        prompt_variables=VARIABLES,
        metadata={"crm_id": "7"},
    ).call.id
    seed(deployment, call_id, user_id)
    exported = client.call.export(
        filters={**EVERY_LIST, "assistant_ids": [assistant_id], "page": 0, "page_size": 10},  # type: ignore[typeddict-item]
        include_metadata=True,
        include_structured_output_fields=True,
    )
    assert exported.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(exported.csv)))
    assert len(rows) == 1
    row = rows[0]
    assert row["call_id"] == call_id and row["result"] == "human"
    assert row["metadata.crm_id"] == "7"
    assert row["structured_output.budget"] == "1200"
    assert row["structured_output.email"] == "ada@example.com"
    assert row["duration_secs"] == "90.0"
    assert row["transcript"].startswith("assistant: Hello Ada\nuser: Hi")


def test_phone_history(client: Revox, deployment: Deployment) -> None:
    user_id = client.users.retrieve().user.id
    number = "+14155559876"
    assistant_id = always_assistant(client)
    reached = client.call.create(
        phone_number=number, assistant_id=assistant_id, prompt_variables=VARIABLES
    ).call.id
    seed(deployment, reached, user_id)
    client.call.create(phone_number=number, assistant_id=assistant_id, prompt_variables=VARIABLES)
    history = client.call.phone_history().phone_history
    entry = history[number]
    assert entry.count == 2
    assert entry.last_outcome == "interested" and entry.hot is True
    assert entry.reached_human is True and entry.do_not_contact is False
    assert [c.id for c in entry.campaigns] == ["camp-1"]
    assert entry.last_called_at is not None


def test_assistant_update_notice_and_deletion_conflict(client: Revox) -> None:
    assistant_id = always_assistant(client)
    call = client.call.create(
        phone_number=PHONE, assistant_id=assistant_id, prompt_variables=VARIABLES
    ).call
    updated = client.assistants.update(assistant_id, prompt="Hi {{first_name}}, {{title}}.")
    assert updated.assistant.prompt == "Hi {{first_name}}, {{title}}."
    assert updated.to_dict()["unpatchedCallsNotice"] == {"count": 1, "variables": ["title"]}
    assert client.call.retrieve(call.id).call.assistant.prompt == (  # type: ignore[union-attr]
        "You call {{first_name}} at {{company}}."
    )
    with pytest.raises(ConflictError) as refused:
        client.assistants.delete(assistant_id)
    assert "1 unfinished call" in error_of(refused.value)["message"]
    client.call.cancel(call.id)
    assert client.assistants.delete(assistant_id).success is True


def test_bad_input_and_isolation(client: Revox, other_client: Revox) -> None:
    assistant_id = always_assistant(client)
    with pytest.raises(BadRequestError) as bad_number:
        client.call.create(phone_number="12", assistant_id=assistant_id, prompt_variables=VARIABLES)
    assert error_of(bad_number.value)["fields"][0]["path"] == "phone_number"
    with pytest.raises(NotFoundError):
        other_client.call.create(
            phone_number=PHONE, assistant_id=assistant_id, prompt_variables=VARIABLES
        )
    call_id = client.call.create(
        phone_number=PHONE, assistant_id=assistant_id, prompt_variables=VARIABLES
    ).call.id
    with pytest.raises(NotFoundError):
        other_client.call.retrieve(call_id)
    with pytest.raises(NotFoundError):
        other_client.call.cancel(call_id)
    found = other_client.call.search(**EVERY_LIST, page=0, page_size=10, call_ids=[call_id])  # type: ignore[arg-type]
    assert found.calls == [] and found.total_count == 0
