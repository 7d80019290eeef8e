"""The configured telephony provider is the one the dispatcher dials through."""

from __future__ import annotations

import pytest

from openrevox.config import Settings
from openrevox.providers.telephony.simulated import SimulatedTelephony
from openrevox.providers.telephony.twilio import TwilioTelephony
from openrevox.scheduler.service import telephony_for


def test_simulated_is_the_default() -> None:
    assert isinstance(telephony_for(Settings()), SimulatedTelephony)


def test_twilio_when_configured() -> None:
    settings = Settings(
        telephony_provider="twilio",
        twilio_account_sid="AC123",
        twilio_auth_token="secret",
        public_base_url="https://voice.example.com",
    )
    assert isinstance(telephony_for(settings), TwilioTelephony)


def test_an_unknown_provider_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="simulated or twilio"):
        telephony_for(Settings(telephony_provider="telnyx"))
