"""The recipient's zones from the number, the override, and the several-zones rule."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from openrevox.domain.phone_numbers import InvalidPhoneNumber
from openrevox.domain.scheduling import (
    InvalidRetryConfig,
    effective_zones,
    is_allowed,
    next_allowed_instant,
    recipient_zones,
    window_at,
    zone_names_for_number,
    zones_for_number,
)
from openrevox.domain.scheduling.timezones import as_zones
from tests.unit.scheduling.clock import config, local, utc

US_TOLL_FREE = "+18002345678"
AU_MOBILE = "+61491570156"
RU_MOBILE = "+79161234567"
AU_WEST = "+61891234567"  # Adelaide and Perth


@pytest.mark.parametrize(
    ("number", "zones"),
    [
        ("+12125550100", ("America/New_York",)),
        ("+17025550100", ("America/Los_Angeles",)),
        ("+33612345678", ("Europe/Paris",)),
        ("+442071234567", ("Europe/London",)),
        ("+919876543210", ("Asia/Calcutta",)),  # phonenumbers' name; zoneinfo knows the alias
        ("+5511987654321", ("America/Sao_Paulo",)),
        ("+61212345678", ("Australia/Sydney",)),
        (AU_WEST, ("Australia/Adelaide", "Australia/Perth")),
    ],
)
def test_zone_of_a_geographic_number(number: str, zones: tuple[str, ...]) -> None:
    assert zone_names_for_number(number) == zones
    assert tuple(z.key for z in zones_for_number(number)) == zones


def test_numbers_spanning_several_zones_keep_phonenumbers_order() -> None:
    toll_free = zone_names_for_number(US_TOLL_FREE)
    assert len(toll_free) > 30 and "America/New_York" in toll_free
    assert toll_free[0] == "America/Adak"
    assert zone_names_for_number(AU_MOBILE) == (
        "Australia/Adelaide",
        "Australia/Brisbane",
        "Australia/Eucla",
        "Australia/Lord_Howe",
        "Australia/Perth",
        "Australia/Sydney",
        "Indian/Christmas",
        "Indian/Cocos",
    )
    russia = zone_names_for_number(RU_MOBILE)
    assert russia[0] == "Asia/Almaty" and "Europe/Moscow" in russia


def test_unknown_number_zone_falls_back_to_the_country() -> None:
    # +1 555 is not a valid NANP number: phonenumbers says "Etc/Unknown".
    assert zone_names_for_number("+15551234567") == zone_names_for_number(US_TOLL_FREE)


def test_unknown_country_zone_falls_back_to_utc() -> None:
    assert zone_names_for_number("+882123456789") == ("UTC",)
    assert zones_for_number("+882123456789") == (ZoneInfo("UTC"),)


def test_text_that_is_no_number_is_refused() -> None:
    with pytest.raises(InvalidPhoneNumber):
        zone_names_for_number("not a number")


def test_override_replaces_the_numbers_zones() -> None:
    cfg = config(timezone="Europe/Paris")
    assert recipient_zones(US_TOLL_FREE, cfg) == (ZoneInfo("Europe/Paris"),)
    assert recipient_zones("+12125550100", config()) == (ZoneInfo("America/New_York"),)
    assert recipient_zones("+12125550100", None) == (ZoneInfo("America/New_York"),)
    with pytest.raises(InvalidRetryConfig):
        recipient_zones("+12125550100", config(timezone="Nowhere/Else"))


def test_zones_as_names_or_objects() -> None:
    assert as_zones(["Europe/Paris", ZoneInfo("Asia/Tokyo")]) == (
        ZoneInfo("Europe/Paris"),
        ZoneInfo("Asia/Tokyo"),
    )
    assert as_zones([]) == (ZoneInfo("UTC"),)


def test_several_zones_allow_only_instants_inside_every_window() -> None:
    zones = zones_for_number(AU_MOBILE)
    # Monday 10 March 2025: Cocos (UTC+6:30) opens last at 03:30 UTC, Sydney and
    # Lord Howe (UTC+11) close first at 07:00 UTC.
    assert effective_zones(utc(2025, 3, 9, 12), config(), zones) == zones
    assert next_allowed_instant(utc(2025, 3, 9, 12), config(), zones) == utc(2025, 3, 10, 3, 30)
    assert not is_allowed(utc(2025, 3, 10, 3, 29), config(), zones)
    assert is_allowed(utc(2025, 3, 10, 6, 59), config(), zones)
    assert not is_allowed(utc(2025, 3, 10, 7, 0), config(), zones)
    assert next_allowed_instant(utc(2025, 3, 10, 7, 0), config(), zones) == utc(2025, 3, 11, 3, 30)


def test_several_zones_also_intersect_the_days() -> None:
    # Adelaide (UTC+10:30) and Perth (UTC+8), Saturdays only, 00:00-03:00.
    cfg = config(windows=[("00:00", "03:00", 0)], days=["saturday"])
    zones = zones_for_number(AU_WEST)
    # Saturday 00:00 in Perth (Friday 16:00 UTC) is 02:30 in Adelaide: 30 minutes in common.
    assert next_allowed_instant(utc(2025, 3, 7, 0), cfg, zones) == utc(2025, 3, 7, 16, 0)
    assert is_allowed(utc(2025, 3, 7, 16, 29), cfg, zones)
    assert not is_allowed(utc(2025, 3, 7, 16, 30), cfg, zones)


def test_zones_too_far_apart_fall_back_to_the_first_zone() -> None:
    # From Adak (UTC-9/-10) to Guam (UTC+10), no 10:00-18:00 instant is common.
    zones = zones_for_number(US_TOLL_FREE)
    now = utc(2025, 3, 3, 0)
    assert effective_zones(now, config(), zones) == (ZoneInfo("America/Adak"),)
    expected = local("America/Adak", 2025, 3, 3, 10, 0)
    assert next_allowed_instant(now, config(), zones) == expected
    russia = zones_for_number(RU_MOBILE)
    assert effective_zones(now, config(), russia) == (ZoneInfo("Asia/Almaty"),)


def test_wide_windows_keep_every_zone() -> None:
    # With a whole-day window, two zones always have a common instant on weekdays.
    cfg = config(windows=[("00:00", "24:00", 0)])
    zones = zones_for_number(US_TOLL_FREE)
    assert effective_zones(utc(2025, 3, 3, 0), cfg, zones) == zones


def test_window_at_uses_the_zones_in_force_in_order() -> None:
    cfg = config(windows=[("09:00", "12:00", 60), ("14:00", "18:00", 120)])
    # Adelaide (UTC+10:30) 14:30 and Perth (UTC+8) 12:00: Adelaide, first, decides.
    instant = utc(2025, 3, 10, 4, 0)
    window = window_at(instant, cfg, zones_for_number(AU_WEST))
    assert window is not None and window.index == 1
    window = window_at(instant, cfg, ["Australia/Perth", "Australia/Adelaide"])
    assert window is not None and window.index == 1  # Perth's 12:00 is in no window
