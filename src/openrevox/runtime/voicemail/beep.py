"""The beep an answering machine plays before it records (pure numpy, streaming).

A beep is a steady tone: one frequency (around 1 kHz for most machines) holding the
audio's energy for a few hundred milliseconds. Speech spreads its energy over many
harmonics and moves; dual tones (keypad, ring-back) split it in two. So each 32 ms
frame is windowed and transformed; a frame is *tonal* when the strongest peak, inside
the band, holds ``tonality`` of the frame's energy; a run of tonal frames at the same
frequency lasting ``min_secs`` is a beep.

    detector = BeepDetector(sample_rate=16000)
    for event in detector.feed(pcm16_chunk):   # any chunk size
        ...  # BeepStarted (the tone has lasted min_secs) then BeepEnded
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class BeepStarted:
    """A tone has held for ``min_secs``: it is a beep. Times in seconds of audio fed."""

    at_secs: float
    started_secs: float
    frequency_hz: float


@dataclass(frozen=True)
class BeepEnded:
    """The beep is over (the recording starts now)."""

    at_secs: float
    started_secs: float
    frequency_hz: float

    @property
    def duration_secs(self) -> float:
        return self.at_secs - self.started_secs


BeepEvent = BeepStarted | BeepEnded


class BeepDetector:
    """Finds steady tones in 16-bit mono PCM fed chunk by chunk."""

    def __init__(
        self,
        sample_rate: int,
        *,
        low_hz: float = 600.0,
        high_hz: float = 1600.0,
        min_secs: float = 0.3,
        tonality: float = 0.8,
        min_rms: float = 0.005,
        frame_secs: float = 0.032,
    ) -> None:
        self.sample_rate = sample_rate
        self.low_hz = low_hz
        self.high_hz = high_hz
        self.min_secs = min_secs
        self.tonality = tonality
        self.min_rms = min_rms
        size = 1
        while size < sample_rate * frame_secs:
            size *= 2
        self.frame_size = size
        self._frame_secs = size / sample_rate
        self._window = np.hanning(size).astype(np.float64)
        self._pending = np.zeros(0, dtype=np.float64)
        self._frames_done = 0
        # The current run of tonal frames: start frame, frequencies, reported yet?
        self._run_start: int | None = None
        self._run_freqs: list[float] = []
        self._run_reported = False

    @property
    def position_secs(self) -> float:
        """Seconds of audio analysed so far."""
        return self._frames_done * self._frame_secs

    def feed(self, pcm16: bytes) -> list[BeepEvent]:
        """Analyse a chunk; returns the beeps that were confirmed or ended in it."""
        samples = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], dtype="<i2") / 32768.0
        self._pending = np.concatenate([self._pending, samples])
        events: list[BeepEvent] = []
        size = self.frame_size
        while self._pending.size >= size:
            frame, self._pending = self._pending[:size], self._pending[size:]
            event = self._frame(frame)
            if event is not None:
                events.append(event)
        return events

    def tone_of(self, frame: NDArray[np.float64]) -> float | None:
        """The frequency of the steady tone in one frame, or None if it is not tonal."""
        if float(np.sqrt(np.mean(frame * frame))) < self.min_rms:
            return None
        power = np.abs(np.fft.rfft(frame * self._window)) ** 2
        power[0] = 0.0
        total = float(np.sum(power))
        if total <= 0.0:
            return None
        peak = int(np.argmax(power))
        share = float(np.sum(power[max(0, peak - 2) : peak + 3])) / total
        if share < self.tonality:
            return None
        frequency = self._refine(power, peak) * self.sample_rate / self.frame_size
        return frequency if self.low_hz <= frequency <= self.high_hz else None

    def _refine(self, power: NDArray[np.float64], peak: int) -> float:
        """Peak position between bins (parabolic interpolation on log power)."""
        if peak <= 0 or peak >= power.size - 1:
            return float(peak)
        left, centre, right = np.log(power[peak - 1 : peak + 2] + 1e-20)
        denominator = left - 2 * centre + right
        offset = 0.5 * (left - right) / denominator if denominator else 0.0
        return float(peak + max(-0.5, min(0.5, offset)))

    def _frame(self, frame: NDArray[np.float64]) -> BeepEvent | None:
        index = self._frames_done
        self._frames_done += 1
        frequency = self.tone_of(frame)
        steady = (
            frequency is not None
            and self._run_start is not None
            and abs(frequency - float(np.median(self._run_freqs)))
            <= max(2.5 * self.sample_rate / self.frame_size, 0.03 * frequency)
        )
        if steady:
            assert frequency is not None
            self._run_freqs.append(frequency)
        else:
            ended = self._end_run(index)
            if frequency is not None:
                self._run_start, self._run_freqs, self._run_reported = index, [frequency], False
            if ended is not None:
                return ended
        if self._run_start is None or self._run_reported:
            return None
        if (index + 1 - self._run_start) * self._frame_secs >= self.min_secs:
            self._run_reported = True
            return BeepStarted(
                at_secs=(index + 1) * self._frame_secs,
                started_secs=self._run_start * self._frame_secs,
                frequency_hz=round(float(np.median(self._run_freqs)), 1),
            )
        return None

    def _end_run(self, index: int) -> BeepEnded | None:
        """The tonal run (if any) stopped before frame ``index``."""
        start, reported = self._run_start, self._run_reported
        frequency = float(np.median(self._run_freqs)) if self._run_freqs else 0.0
        self._run_start, self._run_freqs, self._run_reported = None, [], False
        if start is None or not reported:
            return None
        return BeepEnded(
            at_secs=index * self._frame_secs,
            started_secs=start * self._frame_secs,
            frequency_hz=round(frequency, 1),
        )
