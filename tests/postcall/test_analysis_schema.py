"""The analysis reply's schema checks (pure): each type, normalisation, problems."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openrevox.postcall.structured import OutputField, check_reply, check_value, output_fields

ENUM = OutputField("plan", "enum", True, enum_options=("basic", "Pro", "none"))


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("string", " Globex ", "Globex"),
        ("string", "n/a", None),
        ("number", 12, 12),
        ("number", 12.5, 12.5),
        ("number", None, None),
        ("number", "unknown", None),
        ("boolean", False, False),
        ("boolean", "", None),
        ("date", "2026-12-01", "2026-12-01"),
        ("date", "20261201", "2026-12-01"),
        ("datetime", "2026-12-01T09:30", "2026-12-01T09:30:00"),
        ("datetime", "2026-12-01T09:30:00Z", "2026-12-01T09:30:00Z"),
        ("datetime", "2026-12-01 09:30+02:00", "2026-12-01T09:30:00+02:00"),
    ],
)
def test_valid_values_are_normalised(kind: str, value: Any, expected: Any) -> None:
    assert check_value(OutputField("f", kind, True), value) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("string", 3),
        ("string", ["a"]),
        ("number", "12"),
        ("number", True),
        ("number", float("nan")),
        ("boolean", 1),
        ("boolean", "true"),
        ("date", "1 December 2026"),
        ("date", "2026-12-01T09:30:00"),
        ("date", "2026-02-30"),
        ("datetime", "2026-12-01"),
        ("datetime", "Tuesday 9am"),
        ("datetime", 1764581400),
    ],
)
def test_invalid_values_are_refused(kind: str, value: Any) -> None:
    with pytest.raises(ValueError, match="must be"):
        check_value(OutputField("f", kind, True), value)


def test_enum_matches_an_option_and_keeps_its_spelling() -> None:
    assert check_value(ENUM, "pro") == "Pro"
    assert check_value(ENUM, "None") == "none"  # an option, not "not given"
    assert check_value(ENUM, None) is None
    with pytest.raises(ValueError, match=r"must be one of \['basic', 'Pro', 'none'\]"):
        check_value(ENUM, "enterprise")


def test_output_fields_read_the_sdk_shape() -> None:
    config = {
        "structured_output_config": [
            {"name": "plan", "type": "enum", "required": True, "enum_options": ["a", "b"]},
            {"name": "note", "type": "string", "required": False, "description": "free"},
        ]
    }
    assert output_fields(config) == [
        OutputField("plan", "enum", True, None, ("a", "b")),
        OutputField("note", "string", False, "free", ()),
    ]
    assert output_fields({"structured_output_config": None}) == []


def test_problems_say_which_are_fatal() -> None:
    fields = [OutputField("must", "number", True), OutputField("may", "number", False)]
    reply = {
        "summary": "",
        "outcome": "great",
        "outcome_summary": 3,
        "contact": {"email": 5},
        "structured_output": {"must": "x", "may": "y", "extra": 1},
    }
    checked = check_reply(json.dumps(reply), fields)
    assert [(p.path, p.droppable) for p in checked.problems] == [
        ("summary", False),
        ("outcome", False),
        ("outcome_summary", True),
        ("contact.email", True),
        ("structured_output.must", False),
        ("structured_output.may", True),
    ]
    assert checked.structured_output == {}  # unknown keys are not kept


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "$: not valid JSON"),
        ("[1, 2]", "$: must be a JSON object"),
        ('{"summary": "x", "outcome": null}', "structured_output: must be a JSON object"),
    ],
)
def test_malformed_replies(text: str | None, problem: str) -> None:
    checked = check_reply(text, [OutputField("f", "string", False)])
    assert any(str(p).startswith(problem) for p in checked.fatal)
