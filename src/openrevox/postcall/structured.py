"""The analysis reply's schema: read it, check every value, normalise what is faithful.

Pure: a JSON text in, normalised values and a list of :class:`Problem` out. A problem is
*droppable* when removing the value stores nothing false (a non-required structured
field, a contact field, the outcome's explanation); otherwise it is *fatal* and, once the
repairs are spent, the analysis fails and is retried later (docs/postcall.md#analysis).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, get_args

from openrevox.domain.outcomes import Outcome

OUTCOMES: tuple[str, ...] = get_args(Outcome)
CONTACT_FIELDS = ("first_name", "last_name", "email", "company", "job_title")
FIELD_TYPES = ("string", "number", "boolean", "enum", "date", "datetime")

# What a model writes instead of null when a value was not given.
_NOT_GIVEN = re.compile(
    r"^(?:|n/?a|none|null|nil|unknown|not (?:given|provided|mentioned|specified|stated"
    r"|available|applicable)|-+|\?+)$"
)

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class OutputField:
    """One ``structured_output_config`` entry (SDK ``StructuredOutputConfig``)."""

    name: str
    type: str
    required: bool
    description: str | None = None
    enum_options: tuple[str, ...] = ()


def output_fields(config: Mapping[str, Any]) -> list[OutputField]:
    """The assistant's structured output fields, in order (empty when none)."""
    return [
        OutputField(
            name=str(item["name"]),
            type=str(item["type"]),
            required=bool(item.get("required")),
            description=item.get("description") or None,
            enum_options=tuple(str(o) for o in item.get("enum_options") or ()),
        )
        for item in config.get("structured_output_config") or ()
    ]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a reply, at ``path`` (``structured_output.budget``)."""

    path: str
    message: str
    droppable: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Checked:
    """A reply read against the schema: the values that passed, and the problems."""

    summary: str | None = None
    outcome: str | None = None
    outcome_summary: str | None = None
    contact: dict[str, str | None] = field(default_factory=dict)
    structured_output: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if not p.droppable]


class InvalidValue(ValueError):
    """A value does not fit its type."""


def not_given(value: Any) -> bool:
    """Whether ``value`` is null or a word for "not given" ("", "N/A", "unknown", ...)."""
    return value is None or (
        isinstance(value, str) and _NOT_GIVEN.match(value.strip().lower()) is not None
    )


def check_reply(text: str | None, fields: Sequence[OutputField]) -> Checked:
    """Read the model's JSON answer; every value normalised or reported as a problem."""
    checked = Checked()
    try:
        data = json.loads(_unfenced(text or ""))
    except ValueError as exc:
        checked.problems.append(Problem("$", f"not valid JSON ({exc})"))
        return checked
    if not isinstance(data, dict):
        checked.problems.append(Problem("$", "must be a JSON object"))
        return checked
    _top_level(data, checked)
    _contact(data.get("contact"), checked)
    if fields:
        _structured(data.get("structured_output"), fields, checked)
    return checked


def _unfenced(text: str) -> str:
    """The JSON inside a Markdown code fence, which some models add even in JSON mode."""
    match = _FENCE.match(text.strip())
    return match.group(1) if match else text


def _top_level(data: Mapping[str, Any], checked: Checked) -> None:
    summary = data.get("summary")
    if isinstance(summary, str) and summary.strip():
        checked.summary = summary.strip()
    else:
        checked.problems.append(Problem("summary", "must be a non-empty string"))
    outcome = data.get("outcome")
    if not_given(outcome):
        checked.outcome = None
    elif isinstance(outcome, str) and outcome.strip().lower() in OUTCOMES:
        checked.outcome = outcome.strip().lower()
    else:
        checked.problems.append(
            Problem("outcome", f"must be one of {list(OUTCOMES)} or null; got {outcome!r}")
        )
    reason = data.get("outcome_summary")
    if isinstance(reason, str):
        checked.outcome_summary = reason.strip() or None
    elif reason is not None:
        checked.problems.append(Problem("outcome_summary", "must be a string or null", True))


def _contact(contact: Any, checked: Checked) -> None:
    checked.contact = dict.fromkeys(CONTACT_FIELDS)
    if contact is None:
        return
    if not isinstance(contact, dict):
        checked.problems.append(Problem("contact", "must be an object or null", True))
        return
    for name in CONTACT_FIELDS:
        value = contact.get(name)
        if not_given(value):
            continue
        if isinstance(value, str):
            checked.contact[name] = value.strip()
        else:
            checked.problems.append(
                Problem(f"contact.{name}", f"must be a string or null; got {value!r}", True)
            )


def _structured(output: Any, fields: Sequence[OutputField], checked: Checked) -> None:
    if not isinstance(output, dict):
        checked.problems.append(Problem("structured_output", "must be a JSON object"))
        return
    values: dict[str, Any] = {}
    for spec in fields:
        path = f"structured_output.{spec.name}"
        if spec.name not in output:
            if spec.required:
                checked.problems.append(Problem(path, "is required: give a value or null"))
            continue
        try:
            values[spec.name] = check_value(spec, output[spec.name])
        except InvalidValue as exc:
            checked.problems.append(Problem(path, str(exc), droppable=not spec.required))
    checked.structured_output = values


def check_value(spec: OutputField, value: Any) -> Any:
    """``value`` normalised for ``spec``'s type; raises ``InvalidValue`` with the reason."""
    if spec.type == "enum":
        return _enum(spec, value)
    if not_given(value):
        return None
    if spec.type == "string":
        if isinstance(value, str):
            return value.strip()
        raise InvalidValue(f"must be a string or null; got {value!r}")
    if spec.type == "number":
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return value
        raise InvalidValue(f"must be a JSON number or null; got {value!r}")
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value
        raise InvalidValue(f"must be true, false or null; got {value!r}")
    if spec.type == "date":
        return _date(value)
    if spec.type == "datetime":
        return _datetime(value)
    raise InvalidValue(f"has an unknown type {spec.type!r}")


def _enum(spec: OutputField, value: Any) -> str | None:
    if isinstance(value, str):
        wanted = value.strip().casefold()
        for option in spec.enum_options:
            if option.strip().casefold() == wanted:
                return option
    if not_given(value):
        return None
    raise InvalidValue(f"must be one of {list(spec.enum_options)} or null; got {value!r}")


def _date(value: Any) -> str:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise InvalidValue(f"must be an ISO 8601 date (YYYY-MM-DD) or null; got {value!r}")


def _datetime(value: Any) -> str:
    if isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if not _is_date_only(text):
                iso = moment.isoformat()
                if moment.utcoffset() == timedelta(0):
                    iso = iso.removesuffix("+00:00") + "Z"
                return iso
    raise InvalidValue(
        f"must be an ISO 8601 date and time (YYYY-MM-DDTHH:MM[:SS][+HH:MM]) or null; got {value!r}"
    )


def _is_date_only(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
