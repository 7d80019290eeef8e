"""Phone numbers: E.164 validation and normalisation (phonenumbers)."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """The text is not a valid phone number."""


def require_e164(text: str) -> str:
    """Return ``text`` when it is a valid number written in E.164 (``+`` and digits)."""
    if not text.startswith("+") or not text[1:].isdigit():
        raise InvalidPhoneNumber(
            f"{text!r} is not in E.164 format: a '+', the country code and the number, "
            "digits only (e.g. +14155552671)"
        )
    return normalise(text)


def normalise(text: str, default_region: str | None = None) -> str:
    """Parse a number (E.164, or national format in ``default_region``) to E.164."""
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{text!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def country_of(e164: str) -> str | None:
    """ISO 3166-1 alpha-2 region of a valid E.164 number, if it maps to one."""
    region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    return region if region and region != "ZZ" else None
