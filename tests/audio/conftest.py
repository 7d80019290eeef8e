"""Fixtures for the audio tests: settings with no vendor keys, words of a transcript, how
busy the machine is (to scale real-time budgets)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from openrevox.config import Settings

from .contention import CpuContention, cpu_contention


@pytest.fixture(scope="session")
def contention() -> Iterator[CpuContention]:
    """The CPU-contention probe: ``contention.factor(since)`` scales a timing budget."""
    with cpu_contention() as probe:
        yield probe


@pytest.fixture
def speech_settings(tmp_path: Path) -> Settings:
    """Settings that use the local engines whatever the environment says."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        cartesia_api_key=None,
        elevenlabs_api_key=None,
        gradium_api_key=None,
        soniox_api_key=None,
        deepgram_api_key=None,
        local_speech_fallback=True,
        recordings_dir=tmp_path / "recordings",
    )


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def share_heard(expected: set[str], transcript: str) -> float:
    """Fraction of ``expected`` words found in ``transcript``."""
    return len(expected & words(transcript)) / len(expected)
