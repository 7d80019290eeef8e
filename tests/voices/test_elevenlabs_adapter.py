"""The ElevenLabs adapter against the fake ElevenLabs, over real loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openrevox.errors import InvalidInput, NotFound
from openrevox.providers.voices.base import VoiceProviderUnauthorized, VoiceProviderUnavailable
from openrevox.providers.voices.elevenlabs import DEFAULT_MODEL, ElevenLabsVoices
from openrevox.testing.fake_cartesia import mp3_duration
from openrevox.testing.fake_elevenlabs import FakeElevenLabs, VendorFailure

KEY = "xi-adapter-test-secret"


@pytest.fixture
def elevenlabs() -> Iterator[FakeElevenLabs]:
    with FakeElevenLabs(api_key=KEY) as fake:
        yield fake


def adapter(fake: FakeElevenLabs, key: str = KEY) -> ElevenLabsVoices:
    return ElevenLabsVoices(fake.base_url, key, timeout=5.0)


async def test_list_maps_labels_and_languages(elevenlabs: FakeElevenLabs) -> None:
    voices = {v.name: v for v in await adapter(elevenlabs).list_voices()}
    # Aarav speaks Hindi, which the SDK cannot name: left out.
    assert set(voices) == {"Rachel", "George", "Matilda"}
    rachel, george, matilda = voices["Rachel"], voices["George"], voices["Matilda"]
    assert (rachel.id, rachel.language, rachel.accent, rachel.gender) == (
        "21m00Tcm4TlvDq8ikWAM",
        "en",
        "american",
        "female",
    )
    # No description of its own: the label's; no language stated: English.
    assert george.description == "warm storyteller" and george.language == "en"
    assert george.gender == "male" and george.accent == "british"
    assert matilda.language == "es"
    request = elevenlabs.requests_to("GET", "/v1/voices")[0]
    assert request.headers["xi-api-key"] == KEY


async def test_get_voice(elevenlabs: FakeElevenLabs) -> None:
    found = await adapter(elevenlabs).get_voice("JBFqnCBsd6RMkjVDRZzb")
    assert found is not None and found.name == "George"
    assert await adapter(elevenlabs).get_voice("missing") is None


async def test_synthesize_sends_text_model_and_speed(elevenlabs: FakeElevenLabs) -> None:
    speech = await adapter(elevenlabs).synthesize(
        "21m00Tcm4TlvDq8ikWAM",
        "Seven words are spoken right here now.",
        model="sonic-3",
        speed=0.7,
        volume=2.0,
    )
    assert speech.content_type == "audio/mpeg" and speech.engine == "elevenlabs"
    assert mp3_duration(speech.audio) == pytest.approx(3.5, abs=0.05)
    sent = elevenlabs.syntheses[0]
    assert sent["model_id"] == DEFAULT_MODEL
    assert sent["voice_settings"] == {"speed": 0.7}
    assert sent["output_format"] == "mp3_44100_128"
    assert "volume" not in str(sent)


async def test_unknown_voice_and_bad_key(elevenlabs: FakeElevenLabs) -> None:
    with pytest.raises(NotFound, match="not found at ElevenLabs"):
        await adapter(elevenlabs).synthesize("nope", "Hi.", model=None, speed=None, volume=None)
    with pytest.raises(VoiceProviderUnauthorized) as refused:
        await adapter(elevenlabs, key="xi-wrong-secret").list_voices()
    assert "OPENREVOX_ELEVENLABS_API_KEY" in refused.value.message
    assert "xi-wrong-secret" not in refused.value.message


async def test_vendor_refusal_and_outage(elevenlabs: FakeElevenLabs) -> None:
    elevenlabs.fail_next(
        VendorFailure(400, {"detail": {"status": "text_too_long", "message": "too long"}})
    )
    with pytest.raises(InvalidInput, match="too long"):
        await adapter(elevenlabs).synthesize(
            "21m00Tcm4TlvDq8ikWAM", "Hi.", model=None, speed=None, volume=None
        )
    elevenlabs.fail_next(VendorFailure(502, "bad gateway", path_prefix="/v1/voices"))
    with pytest.raises(VoiceProviderUnavailable) as down:
        await adapter(elevenlabs).list_voices()
    assert down.value.status_code == 502
    assert "HTTP 502" in down.value.message
