"""The Cartesia adapter against the fake Cartesia, over real loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openrevox.errors import InvalidInput, NotFound
from openrevox.providers.voices.base import (
    VoiceProviderError,
    VoiceProviderRateLimited,
    VoiceProviderUnauthorized,
    VoiceProviderUnavailable,
)
from openrevox.providers.voices.cartesia import CARTESIA_VERSION, CartesiaVoices
from openrevox.testing.fake_cartesia import FakeCartesia, VendorFailure, mp3_duration

KEY = "sk_car_adapter_test_secret"


@pytest.fixture
def cartesia() -> Iterator[FakeCartesia]:
    with FakeCartesia(api_key=KEY, max_page_size=2) as fake:
        yield fake


def adapter(fake: FakeCartesia, key: str = KEY, timeout: float = 5.0) -> CartesiaVoices:
    return CartesiaVoices(fake.base_url, key, timeout=timeout)


async def test_list_follows_every_page_and_maps_to_the_sdk_vocabulary(
    cartesia: FakeCartesia,
) -> None:
    voices = await adapter(cartesia).list_voices()
    # 4 voices in pages of 2; the Japanese one has no SDK language and is left out.
    assert [v.name for v in voices] == ["Barbershop Man", "British Lady", "Friendly French Man"]
    lists = cartesia.requests_to("GET", "/voices")
    assert len(lists) == 2
    assert lists[0].query == {"limit": "100"}
    assert lists[1].query == {"limit": "100", "starting_after": voices[1].id}
    assert all(r.headers["x-api-key"] == KEY for r in lists)
    assert all(r.headers["cartesia-version"] == CARTESIA_VERSION for r in lists)
    barber, lady, french = voices
    assert (barber.gender, lady.gender, french.language) == ("male", "female", "fr")
    assert barber.provider == "cartesia" and barber.description.startswith("A rich")
    assert barber.to_wire()["isCloned"] is False


async def test_get_voice_and_unknown_voice(cartesia: FakeCartesia) -> None:
    found = await adapter(cartesia).get_voice("79a125e8-cd45-4c13-8a67-188112f4dd22")
    assert found is not None and found.name == "British Lady"
    assert await adapter(cartesia).get_voice("no-such-voice") is None


async def test_clone_sends_multipart_and_delete_removes_it(cartesia: FakeCartesia) -> None:
    clip = b"RIFF" + bytes(4000)
    info = await adapter(cartesia).clone(clip, "audio/wav", name="Founder", language="fr")
    assert info.name == "Founder" and info.language == "fr"
    sent = cartesia.requests_to("POST", "/voices/clone")[0]
    assert sent.form == {"name": "Founder", "language": "fr"}
    assert sent.files["clip"].data == clip
    assert sent.files["clip"].content_type == "audio/wav"
    assert sent.files["clip"].filename == "clip.wav"
    assert cartesia.voices[info.id]["is_owner"] is True
    assert await adapter(cartesia).delete_voice(info.id) is True
    assert cartesia.deleted == [info.id]
    # Already gone: not an error.
    assert await adapter(cartesia).delete_voice(info.id) is False


async def test_clone_refused_by_cartesia_is_the_callers_fault(cartesia: FakeCartesia) -> None:
    with pytest.raises(InvalidInput) as refused:
        await adapter(cartesia).clone(b"tiny", "audio/wav", name="X", language="en")
    assert refused.value.status_code == 400
    assert "too short" in refused.value.message
    assert refused.value.fields[0].path == "audio"


async def test_synthesize_asks_for_mp3_with_the_generation_config(cartesia: FakeCartesia) -> None:
    speech = await adapter(cartesia).synthesize(
        "a0e99841-438c-4a64-b679-ae501e7d6091",
        "One two three four five six seven eight nine ten.",
        model="sonic-3.5",
        speed=1.25,
        volume=0.8,
    )
    assert speech.content_type == "audio/mpeg" and speech.engine == "cartesia"
    # 10 words at 0.35 s, faster by 1.25.
    assert mp3_duration(speech.audio) == pytest.approx(2.8, abs=0.05)
    sent = cartesia.syntheses[0]
    assert sent["model_id"] == "sonic-3.5"
    assert sent["voice"] == {"mode": "id", "id": "a0e99841-438c-4a64-b679-ae501e7d6091"}
    assert sent["generation_config"] == {"speed": 1.25, "volume": 0.8}
    assert sent["output_format"]["container"] == "mp3"


async def test_synthesize_defaults_and_unknown_voice(cartesia: FakeCartesia) -> None:
    voice_id = "a0e99841-438c-4a64-b679-ae501e7d6091"
    await adapter(cartesia).synthesize(voice_id, "Hi there.", model=None, speed=None, volume=None)
    assert cartesia.syntheses[0]["model_id"] == "sonic-3"
    assert "generation_config" not in cartesia.syntheses[0]
    with pytest.raises(NotFound):
        await adapter(cartesia).synthesize("nope", "Hi.", model=None, speed=None, volume=None)


async def test_a_wrong_key_names_the_setting_and_never_the_key(cartesia: FakeCartesia) -> None:
    with pytest.raises(VoiceProviderUnauthorized) as refused:
        await adapter(cartesia, key="sk_car_wrong_secret").list_voices()
    assert refused.value.status_code == 502
    assert "OPENREVOX_CARTESIA_API_KEY" in refused.value.message
    assert "sk_car_wrong_secret" not in refused.value.message


@pytest.mark.parametrize(
    ("failure", "error", "status"),
    [
        (VendorFailure(503, "<html>down for maintenance</html>"), VoiceProviderUnavailable, 502),
        (VendorFailure(500), VoiceProviderUnavailable, 502),
        (VendorFailure(429, {"error": "slow down"}), VoiceProviderRateLimited, 503),
        (VendorFailure(409, {"error": "conflict " + KEY}), VoiceProviderError, 502),
    ],
)
async def test_vendor_failures_become_our_errors(
    cartesia: FakeCartesia, failure: VendorFailure, error: type[Exception], status: int
) -> None:
    cartesia.fail_next(failure)
    with pytest.raises(error) as failed:
        await adapter(cartesia).list_voices()
    assert isinstance(failed.value, VoiceProviderError)
    assert failed.value.status_code == status
    assert KEY not in failed.value.message


async def test_timeout_and_unreachable(cartesia: FakeCartesia) -> None:
    cartesia.delay = 1.0
    with pytest.raises(VoiceProviderUnavailable, match=r"did not answer within 0\.2 s"):
        await adapter(cartesia, timeout=0.2).list_voices()
    cartesia.delay = 0.0
    base = cartesia.base_url
    cartesia.stop()
    with pytest.raises(VoiceProviderUnavailable, match="could not be reached"):
        await CartesiaVoices(base, KEY, timeout=2.0).list_voices()
