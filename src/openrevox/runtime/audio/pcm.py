"""16-bit mono PCM helpers: conversion, resampling, gain and loudness."""

from __future__ import annotations

import numpy as np
import soxr
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]


def to_float(pcm: bytes) -> FloatArray:
    """Little-endian signed 16-bit PCM to floats in [-1, 1)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def to_pcm16(samples: NDArray[np.floating]) -> bytes:
    """Floats in [-1, 1] to 16-bit PCM, clipping what is louder."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32) * 32768.0, -32768, 32767)
    return bytes(clipped.astype("<i2").tobytes())


def resample(samples: NDArray[np.floating], from_rate: int, to_rate: int) -> FloatArray:
    """Resample a whole buffer (not a stream) with soxr's high quality filter."""
    data = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate or data.size == 0:
        return data
    return np.asarray(soxr.resample(data, from_rate, to_rate), dtype=np.float32)


def resample_pcm16(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample a whole 16-bit PCM buffer."""
    if from_rate == to_rate:
        return pcm
    return to_pcm16(resample(to_float(pcm), from_rate, to_rate))


def rms(pcm: bytes) -> float:
    """Root mean square of 16-bit PCM, as a fraction of full scale (0 for no audio)."""
    if len(pcm) < 2:
        return 0.0
    samples = to_float(pcm[: len(pcm) // 2 * 2]).astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples)))
