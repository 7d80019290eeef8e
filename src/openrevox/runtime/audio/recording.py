"""Stereo call recording: caller on the left, agent on the right, as a WAV file.

:class:`StereoRecorder` wraps Pipecat's ``AudioBufferProcessor``; put
``recorder.processor`` right after ``transport.output()``. Audio is appended to
the file every ``flush_secs`` (memory stays bounded on long calls) and the file
is closed when the pipeline ends or is cancelled.
"""

from __future__ import annotations

import asyncio
import re
import wave
from pathlib import Path

from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor

from openrevox.config import Settings

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def recording_path(settings: Settings, call_id: str) -> Path:
    """``<OPENREVOX_RECORDINGS_DIR>/<call_id>.wav`` (the id made safe for a file name)."""
    return settings.recordings_dir / f"{_SAFE_NAME.sub('_', call_id)}.wav"


class StereoRecorder:
    """Writes the call to ``path`` as 16-bit stereo WAV at ``sample_rate``."""

    def __init__(self, path: Path, *, sample_rate: int = 16000, flush_secs: float = 5.0) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.processor = AudioBufferProcessor(
            sample_rate=sample_rate,
            num_channels=2,
            buffer_size=int(sample_rate * 2 * flush_secs),
            auto_start_recording=True,
        )
        self.processor.add_event_handler("on_audio_data", self._on_audio_data)
        self.processor.add_event_handler("on_recording_stopped", self._on_stopped)
        self._wav: wave.Wave_write | None = None
        self._lock = asyncio.Lock()
        self.closed = asyncio.Event()

    @property
    def seconds(self) -> float:
        """Length written so far."""
        return self._wav.getnframes() / self.sample_rate if self._wav is not None else 0.0

    async def _on_audio_data(
        self, _processor: object, audio: bytes, sample_rate: int, channels: int
    ) -> None:
        async with self._lock:
            await asyncio.to_thread(self._write, audio, sample_rate, channels)

    def _write(self, audio: bytes, sample_rate: int, channels: int) -> None:
        if self._wav is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed in _on_stopped
            wav.setnchannels(channels)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate)
            self._wav = wav
        self._wav.writeframes(audio)

    async def _on_stopped(self, _processor: object) -> None:
        async with self._lock:
            if self._wav is not None:
                await asyncio.to_thread(self._wav.close)
            self.closed.set()
