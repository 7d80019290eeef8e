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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

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
        self.processor = _TwoInputBuffer(
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

    def caller_tap(self) -> CallerAudioTap:
        """The processor where the caller's audio ends, recorded here."""
        return CallerAudioTap(self.processor.record_caller)


class _TwoInputBuffer(AudioBufferProcessor):
    """Pipecat's buffer, taking the caller's audio from the tap as well as frames from
    the pipeline; one at a time, as its own task alone did (a flush awaits the writer,
    then clears the buffers: nothing may be added in between)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._one_at_a_time = asyncio.Lock()

    async def record_caller(self, frame: InputAudioRawFrame) -> None:
        if self._recording:  # from the StartFrame to the EndFrame or CancelFrame
            await self._process_recording(frame)

    async def _process_recording(self, frame: Frame) -> None:
        async with self._one_at_a_time:
            await super()._process_recording(frame)


class CallerAudioTap(FrameProcessor):
    """Ends the caller's audio frames where the pipeline is done with them, right after
    the user aggregator (VAD, turns, STT are before it): each goes to ``record``, if
    any, and no further. They used to travel through the LLM, TTS, output and recorder
    processors only for the recording: a queue and a task switch each, 50 frames a
    second per call (docs/audio.md)."""

    def __init__(
        self, record: Callable[[InputAudioRawFrame], Awaitable[None]] | None = None
    ) -> None:
        super().__init__()
        self._record = record

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and direction is FrameDirection.DOWNSTREAM:
            if self._record is not None:
                await self._record(frame)
            return
        await self.push_frame(frame, direction)
