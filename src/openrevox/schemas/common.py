"""Building blocks shared by every schema."""

from __future__ import annotations

import math
import re
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from openrevox.domain.phone_numbers import InvalidPhoneNumber, require_e164
from openrevox.domain.templating import PLACEHOLDER


class StrictModel(BaseModel):
    """Request models reject unknown fields, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class WireModel(BaseModel):
    """Response models."""

    model_config = ConfigDict(protected_namespaces=())


SUBFIELD_SEPARATOR = "\x1f"


def at(path: str, message: str) -> ValueError:
    """An error a model validator raises about one of its fields (``voice`` → ``voice.speed``)."""
    return ValueError(f"@{path}{SUBFIELD_SEPARATOR}{message}")


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def http_url(value: str, *, placeholders: bool = False) -> str:
    """An absolute http(s) URL; ``{{variables}}`` allowed when ``placeholders``."""
    probe = PLACEHOLDER.sub("x", value) if placeholders else value
    parts = urlsplit(probe)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in probe:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    return value


def _http_url(value: str) -> str:
    return http_url(value)


def _templated_http_url(value: str) -> str:
    return http_url(value, placeholders=True)


def _e164(value: str) -> str:
    try:
        return require_e164(value)
    except InvalidPhoneNumber as exc:
        raise ValueError(str(exc)) from None


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not an IANA time zone (e.g. 'America/New_York', 'Europe/Paris')"
        ) from None
    return value


_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


def email_addresses(value: str) -> list[str]:
    """The addresses of a comma-separated list."""
    return [part.strip() for part in value.split(",")]


def _email_list(value: str) -> str:
    bad = [a for a in email_addresses(value) if not _EMAIL.match(a)]
    if bad:
        raise ValueError(f"not an email address: {', '.join(repr(b) for b in bad)}")
    return value


def reject_nul(data: object, path: str = "") -> None:
    """Refuse the NUL character anywhere in a JSON document (PostgreSQL cannot store it)."""
    if isinstance(data, str):
        if "\x00" in data:
            raise at(path or "body", "must not contain the NUL character (\\u0000)")
    elif isinstance(data, dict):
        for key, value in data.items():
            reject_nul(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            reject_nul(value, f"{path}[{index}]")


NonBlank = Annotated[str, AfterValidator(_non_blank)]
Name = Annotated[str, StringConstraints(max_length=200), AfterValidator(_non_blank)]
Text = Annotated[str, StringConstraints(max_length=100_000)]
Finite = Annotated[float, AfterValidator(_finite)]
Unit = Annotated[float, AfterValidator(_finite), AfterValidator(lambda v: _in_unit(v))]
HttpUrl = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_http_url)]
TemplatedHttpUrl = Annotated[
    str, StringConstraints(max_length=2048), AfterValidator(_templated_http_url)
]
E164 = Annotated[str, AfterValidator(_e164)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
EmailList = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_email_list)]


def _in_unit(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value
