"""Fixtures for the audio tests: settings with no vendor keys, words of a transcript, how
busy the machine is (to scale real-time budgets), a frozen heap."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipecat.services.openai.llm import OpenAILLMService

from openrevox.config import Settings
from openrevox.heap import freeze_startup_objects

from .contention import CpuContention, cpu_contention


@pytest.fixture(scope="module", autouse=True)
def frozen_heap() -> Iterator[None]:
    """Freeze what the test process holds before a module of real-time tests, as
    ``openrevox serve`` freezes its start-up objects (``openrevox.heap``).

    The server under test runs in a thread of the test process. Late in a full run that
    process holds everything earlier tests left: a full collection then walks it all and
    stops every thread for 100-200 ms, which the real-time checks (no gap over 150 ms in
    the agent's audio) see as an underrun. CI failed
    ``test_an_uninterruptible_message_plays_to_its_end`` so (a 223 ms gap on an idle
    machine) after 1,000 other tests; alone it passed every time.
    """
    freeze_startup_objects()
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def contention() -> Iterator[CpuContention]:
    """The CPU-contention probe: ``contention.factor(since)`` scales a timing budget."""
    with cpu_contention() as probe:
        yield probe


# The booking conversation the end-to-end tests hold over a phone stream.
CALLER_SAYS = "I would like to book an appointment for tomorrow morning please."
CALLER_WORDS = {"would", "like", "book", "appointment", "tomorrow", "morning"}
AGENT_SAYS = "Your appointment is confirmed for tomorrow morning. Thank you for calling."
AGENT_WORDS = {"appointment", "confirmed", "tomorrow", "morning", "thank", "calling"}


def local_speech_settings(**overrides: Any) -> Settings:
    """Settings that use the local engines whatever the environment says."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        cartesia_api_key=None,
        elevenlabs_api_key=None,
        gradium_api_key=None,
        soniox_api_key=None,
        deepgram_api_key=None,
        local_speech_fallback=True,
        **overrides,
    )


def booking_llm(base_url: str) -> OpenAILLMService:
    """Pipecat's OpenAI service on the fake LLM at ``base_url``, booking appointments."""
    return OpenAILLMService(
        api_key="test-key",
        base_url=base_url,
        settings=OpenAILLMService.Settings(
            model="fake-model", system_instruction="You book dental appointments."
        ),
    )


@pytest.fixture
def speech_settings(tmp_path: Path) -> Settings:
    """Settings that use the local engines, recording under ``tmp_path``."""
    return local_speech_settings(recordings_dir=tmp_path / "recordings")


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def share_heard(expected: set[str], transcript: str) -> float:
    """Fraction of ``expected`` words found in ``transcript``."""
    return len(expected & words(transcript)) / len(expected)
