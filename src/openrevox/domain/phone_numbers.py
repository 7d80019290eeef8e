"""Phone numbers: E.164 validation and normalisation (phonenumbers)."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, region_code_for_country_code


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
    if canonical_e164(text) is not None:
        return text
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{text!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def canonical_e164(text: str) -> PhoneNumber | None:
    """The number, when ``text`` is a valid number already in canonical E.164 for which the
    general parse could only give this number: the fast path of a campaign's contacts.

    Anything else (a leading zero, digits the number's region may read as a national prefix,
    an invalid number) gives None: the general path, with its error messages."""
    if not (text[:1] == "+" and text[1:].isascii() and text[1:].isdigit() and text[1:2] != "0"):
        return None
    for size in (1, 2, 3):
        code = int(text[1 : 1 + size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = text[1 + size :]
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        code, region_code_for_country_code(code)
    )
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    if prefix and re.match(prefix, national):
        return None
    number = PhoneNumber(country_code=code, national_number=int(national))
    return number if phonenumbers.is_valid_number(number) else None


def country_of(e164: str) -> str | None:
    """ISO 3166-1 alpha-2 region of a valid E.164 number, if it maps to one."""
    region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    return region if region and region != "ZZ" else None
