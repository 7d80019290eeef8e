"""The recipient's time zones, from the phone number (phonenumbers) or the config's override."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

from openrevox.domain.phone_numbers import InvalidPhoneNumber, canonical_e164
from openrevox.domain.scheduling.errors import InvalidRetryConfig
from openrevox.domain.scheduling.policy import RetryConfig, read_retry_config

UTC_ZONE = ZoneInfo("UTC")
UNKNOWN = phone_timezones.UNKNOWN_TIMEZONE  # "Etc/Unknown"


def zone_names_for_number(phone_number: str) -> tuple[str, ...]:
    """IANA names for a number, in phonenumbers' order.

    The number's own prefix first; when phonenumbers does not know it ("Etc/Unknown"),
    the zones of its country calling code; when those are unknown too, ``("UTC",)``.
    """
    parsed = canonical_e164(phone_number)
    if parsed is None:
        try:
            parsed = phonenumbers.parse(phone_number, None)
        except phonenumbers.NumberParseException as exc:
            raise InvalidPhoneNumber(f"{phone_number!r} is not a phone number: {exc}") from None
    names = _known(phone_timezones.time_zones_for_number(parsed))
    if not names:
        country = phonenumbers.PhoneNumber(country_code=parsed.country_code, national_number=0)
        names = _known(phone_timezones.time_zones_for_geographical_number(country))
    return names or ("UTC",)


def zone(name: str) -> ZoneInfo:
    """The zone of an IANA name; ``InvalidRetryConfig`` when the name is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRetryConfig(
            f"{name!r} is not an IANA time zone (e.g. 'America/New_York', 'Europe/Paris')"
        ) from None


def zones_for_number(phone_number: str) -> tuple[ZoneInfo, ...]:
    """The candidate zones of a number (see ``zone_names_for_number``)."""
    return tuple(zone(name) for name in zone_names_for_number(phone_number))


def recipient_zones(phone_number: str, retry_config: RetryConfig = None) -> tuple[ZoneInfo, ...]:
    """The zones rules apply in: ``call_retry_config.timezone`` if set, else the number's."""
    override = read_retry_config(retry_config).timezone
    return (zone(override),) if override else zones_for_number(phone_number)


def as_zones(zones: Sequence[ZoneInfo | str]) -> tuple[ZoneInfo, ...]:
    """Zones given as objects or names; none at all means UTC."""
    result = tuple(z if isinstance(z, ZoneInfo) else zone(z) for z in zones)
    return result or (UTC_ZONE,)


def _known(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(name for name in names if name != UNKNOWN)
