"""The canonical-E.164 fast path of ``normalise`` answers exactly what the general parse does."""

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from openrevox.domain import phone_numbers
from openrevox.domain.phone_numbers import InvalidPhoneNumber, normalise


def _general(text: str) -> str | None:
    """``normalise`` through phonenumbers' parse only (no fast path)."""
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _ours(text: str) -> str | None:
    try:
        return normalise(text)
    except InvalidPhoneNumber:
        return None


def _candidates() -> list[str]:
    """Example numbers of every region and type, and neighbours of each: a digit changed,
    added or dropped, a zero or a national prefix put in front of the national number."""
    rng = random.Random(7)
    examples: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                examples.append(
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                )
    texts = set(examples)
    for e164 in examples:
        digits = e164[1:]
        spot = rng.randrange(1, len(digits))
        texts.add("+" + digits[:spot] + str(rng.randrange(10)) + digits[spot + 1 :])
        texts.add("+" + digits + str(rng.randrange(10)))
        texts.add("+" + digits[:-1])
        for size in (1, 2, 3):
            for prefix in ("0", "1", "8", "9"):
                texts.add("+" + digits[:size] + prefix + digits[size:])
    return sorted(texts)


def test_the_fast_path_agrees_with_the_general_parse_on_thousands_of_numbers() -> None:
    candidates = _candidates()
    fast = [text for text in candidates if phone_numbers.canonical_e164(text) is not None]
    assert len(candidates) > 5000
    assert len(fast) > 1000  # the fast path is really taken
    disagreements = [(t, _ours(t), _general(t)) for t in candidates if _ours(t) != _general(t)]
    assert disagreements == []


@pytest.mark.parametrize(
    "text",
    ["+33612345678", "+14155552671", "+447911123456", "+4915112345678", "+61412345678"],
)
def test_valid_canonical_numbers_take_the_fast_path(text: str) -> None:
    assert phone_numbers.canonical_e164(text) is not None
    assert normalise(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "+330612345678",  # a national prefix kept after the country code
        "+3906698123456",  # Italian leading zero: the general path keeps it
        "+0033612345678",
        "+3361234567",  # too short for France
        "+33 6 12 34 56 78",
        "+３３612345678",  # non-ASCII digits
        "+",
        "",
    ],
)
def test_anything_else_takes_the_general_path(text: str) -> None:
    assert phone_numbers.canonical_e164(text) is None
    assert _ours(text) == _general(text)
