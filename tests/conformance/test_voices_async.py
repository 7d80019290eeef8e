"""``client.voices`` through the async SDK 0.5.0 client (strict validation), against the
same kind of server as ``test_voices_sync.py``: every method once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from revox import AsyncRevox, ConflictError, NotFoundError

from openrevox.testing.fake_cartesia import mp3_duration
from tests.conformance.test_voices_sync import (
    BARBER,
    CLIP,
    RACHEL,
    VoiceServer,
    voice_server,
)

__all__ = ["voice_server"]  # the module-scoped server fixture, one per backend


@pytest.fixture
async def aclient(voice_server: VoiceServer) -> AsyncIterator[AsyncRevox]:
    async with AsyncRevox(
        api_key=voice_server.key,
        base_url=voice_server.base_url,
        max_retries=0,
        _strict_response_validation=True,
    ) as revox:
        yield revox


async def test_every_voices_method(aclient: AsyncRevox, voice_server: VoiceServer) -> None:
    listed = (await aclient.voices.list()).voices
    assert {BARBER, RACHEL} <= {v.id for v in listed}
    assert (await aclient.voices.retrieve(BARBER, provider="cartesia")).voice.name == (
        "Barbershop Man"
    )
    cloned = await aclient.voices.clone(
        audio=CLIP, content_type="audio/ogg", language="it", name="Async Clone"
    )
    sent = voice_server.cartesia.requests_to("POST", "/voices/clone")[-1]
    assert sent.files["clip"].filename == "clip.ogg"
    assert sent.files["clip"].content_type == "audio/ogg"
    assert (await aclient.voices.list()).voices[0].id == cloned.cartesia_voice_id

    assistant = (
        await aclient.assistants.create(
            name="Async user",
            prompt="p",
            voice={"id": cloned.cartesia_voice_id, "provider": "cartesia"},
        )
    ).assistant
    with pytest.raises(ConflictError):
        await aclient.voices.delete(cloned.cartesia_voice_id)
    await aclient.assistants.delete(assistant.id)
    assert (await aclient.voices.delete(cloned.cartesia_voice_id)).success is True
    with pytest.raises(NotFoundError):
        await aclient.voices.retrieve(cloned.cartesia_voice_id, provider="cartesia")

    assert await aclient.voices.preview(provider="elevenlabs", voice_id=RACHEL) is None
    raw = await aclient.voices.with_raw_response.preview(
        provider="cartesia", voice_id=BARBER, text="Two words."
    )
    assert raw.headers["content-type"] == "audio/mpeg"
    assert mp3_duration(await raw.http_response.aread()) == pytest.approx(0.7, abs=0.05)
