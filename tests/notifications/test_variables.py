"""Template variables of after-call messages, from a call's wire form."""

from __future__ import annotations

from typing import Any

from openrevox.domain.outcomes import outcome_matches
from openrevox.notifications.variables import call_variables, fill, fill_lines


def wire_call(**overrides: Any) -> dict[str, Any]:
    attempt = {
        "id": "att_1",
        "status": "completed",
        "phone_number": "+14155550100",
        "started_at": "2026-03-01T10:00:00Z",
        "answered_at": "2026-03-01T10:00:04Z",
        "ended_at": "2026-03-01T10:02:19Z",
        "transcript": [
            {"role": "assistant", "content": "Hello, this is Ava from Acme Dental."},
            {"role": "user", "content": "Hi! Yes?"},
            {
                "role": "tool",
                "content": "",
                "tool_name": "send_sms",
                "tool_arguments": {"body": "x"},
                "tool_output": "sent",
            },
            {"role": "human_agent", "content": "Taking over from here."},
            {"role": "user", "content": "  "},
        ],
        "post_call_transcript": None,
        "structured_output": {"budget": 1500.0, "wants_demo": True, "plan": "pro", "notes": None},
    }
    call: dict[str, Any] = {
        "id": "call_1",
        "direction": "outbound",
        "to_phone_number": "+14155550100",
        "from_phone_number": "+15005550006",
        "outcome": "interested",
        "outcome_summary": "The prospect wants a demo.",
        "prompt_variables": {"first_name": "Janet", "plan": "basic", "city": "Lyon"},
        "contact": {
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "jane@acme.test",
            "company": "Acme",
            "job_title": "CTO",
        },
        "call_attempts": [attempt],
        "last_call_attempt": attempt,
        "slack_channel_ids": None,
    }
    call.update(overrides)
    return call


def test_documented_variables() -> None:
    values = call_variables(
        call=wire_call(),
        assistant_name="Ava",
        campaign_name="Spring promo",
        call_url="https://app.test/calls/call_1",
    )
    assert values["summary"] == "The prospect wants a demo."
    assert values["outcome"] == "interested"
    assert values["phone"] == "+14155550100"
    assert values["call_url"] == "https://app.test/calls/call_1"
    assert values["assistant_name"] == "Ava"
    assert values["campaign_name"] == "Spring promo"
    assert values["transcript"] == (
        "Agent: Hello, this is Ava from Acme Dental.\n"
        "Caller: Hi! Yes?\n"
        "Human agent: Taking over from here."
    )
    assert values["contact_name"] == "Jane Doe"
    assert values["contact_line"] == "Jane Doe · CTO at Acme · jane@acme.test · +14155550100"
    assert values["email"] == "jane@acme.test"
    assert values["job_title"] == "CTO"


def test_prompt_variables_and_structured_output_with_precedence() -> None:
    values = call_variables(
        call=wire_call(), assistant_name="Ava", campaign_name=None, call_url=None
    )
    assert values["city"] == "Lyon"  # a prompt variable
    assert values["plan"] == "pro"  # structured output wins over the prompt variable
    assert values["budget"] == "1500"
    assert values["wants_demo"] == "true"
    assert values["notes"] == ""
    assert values["first_name"] == "Jane"  # the contact wins when it knows the name
    assert values["campaign_name"] == "" and values["call_url"] == ""


def test_empty_contact_keeps_the_prompt_variable() -> None:
    call = wire_call(contact={"first_name": None, "last_name": None, "email": None})
    values = call_variables(call=call, assistant_name="Ava", campaign_name=None, call_url=None)
    assert values["first_name"] == "Janet"
    assert values["last_name"] == ""
    assert values["contact_line"] == "+14155550100"


def test_null_outcome_summary_override_and_post_call_transcript() -> None:
    call = wire_call(outcome=None, outcome_summary=None)
    call["last_call_attempt"] = {
        **call["last_call_attempt"],
        "post_call_transcript": [
            {"role": "assistant", "content": "Good morning."},
            {"role": "user", "content": "Morning."},
        ],
    }
    values = call_variables(
        call=call, assistant_name="Ava", campaign_name=None, call_url=None, summary="  Short.  "
    )
    assert values["outcome"] == "none"
    assert values["summary"] == "Short."
    assert values["transcript"] == "Agent: Good morning.\nCaller: Morning."
    no_summary = call_variables(call=call, assistant_name="A", campaign_name=None, call_url=None)
    assert no_summary["summary"] == ""


def test_inbound_phone_is_the_caller() -> None:
    call = wire_call(
        direction="inbound", to_phone_number="+15005550006", from_phone_number="+33612345678"
    )
    values = call_variables(call=call, assistant_name="Ava", campaign_name=None, call_url=None)
    assert values["phone"] == "+33612345678"


def test_call_without_attempts() -> None:
    call = wire_call(call_attempts=[], last_call_attempt=None, prompt_variables=None, contact={})
    values = call_variables(call=call, assistant_name="Ava", campaign_name=None, call_url=None)
    assert values["transcript"] == ""
    assert values["contact_line"] == "+14155550100"
    assert "budget" not in values


def test_fill_renders_missing_variables_as_empty_text() -> None:
    text = fill(
        "Hi {{ first_name }}, {{unknown}}re: {{outcome}}", {"first_name": "Jo", "outcome": "x"}
    )
    assert text == "Hi Jo, re: x"


def test_fill_lines_drops_lines_with_only_empty_placeholders() -> None:
    template = "Title\n*Campaign:* {{campaign_name}}\n*Outcome:* {{outcome}}\n{{a}} {{b}}"
    assert fill_lines(template, {"campaign_name": "", "outcome": "completed", "b": "B"}) == (
        "Title\n*Outcome:* completed\n B"
    )


def test_outcome_filters() -> None:
    assert outcome_matches(["interested"], "interested")
    assert not outcome_matches(["interested"], "completed")
    assert outcome_matches(["none"], None)
    assert not outcome_matches(["interested"], None)
    assert not outcome_matches([], "interested")
    assert not outcome_matches(None, None)
