"""Pure domain rules: window times, templating, phone numbers, secret masking."""

from __future__ import annotations

from datetime import time

import pytest

from openrevox.domain.calling_windows import parse_window_time
from openrevox.domain.phone_numbers import InvalidPhoneNumber, country_of, normalise, require_e164
from openrevox.domain.secrets import is_mask_of, mask
from openrevox.domain.templating import MissingVariables, render, render_partial, variables_in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00", time(9, 0)),
        ("9:30", time(9, 30)),
        ("17:45", time(17, 45)),
        ("6pm", time(18, 0)),
        ("6:30pm", time(18, 30)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        ("10AM", time(10, 0)),
        ("24:00", time.max),
    ],
)
def test_window_times_in_both_formats(text: str, expected: time) -> None:
    assert parse_window_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "9", "13pm", "9:60", "noon", "", "09:00:00"])
def test_bad_window_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a time of day"):
        parse_window_time(text)


def test_template_variables_are_found_and_filled() -> None:
    assert variables_in("Hi {{ first_name }}, about {{company}}", None, "{{company}}") == {
        "first_name",
        "company",
    }
    assert render("Hi {{name}}!", {"name": "Ada"}) == "Hi Ada!"
    assert render_partial("{{a}} and {{b}}", {"a": 1}) == "1 and {{b}}"


def test_missing_template_variables_are_named() -> None:
    with pytest.raises(MissingVariables) as caught:
        render("{{a}} {{b}} {{c}}", {"b": 1})
    assert caught.value.names == ["a", "c"]


def test_phone_numbers() -> None:
    assert require_e164("+14155552671") == "+14155552671"
    assert normalise("06 12 34 56 78", "FR") == "+33612345678"
    assert country_of("+33612345678") == "FR"
    for bad in ("14155552671", "+1 415 555 2671", "+1234567890", "+"):
        with pytest.raises(InvalidPhoneNumber):
            require_e164(bad)


def test_masking_shows_only_the_tail() -> None:
    assert mask("sk-abcdefghijkl") == "****ijkl"
    assert mask("short") == "********"
    assert is_mask_of("****ijkl", "sk-abcdefghijkl")
    assert not is_mask_of("****ijkl", "sk-other-secret")
