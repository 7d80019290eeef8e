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
from openrevox.providers.stt.local_pocketsphinx import transcribe
from openrevox.testing.fake_openai import FakeOpenAI

from .contention import CpuContention, cpu_contention
from .twilio_peer import TWILIO_RATE, FakeTwilioCall, caller_speech


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


async def hold_booking(call: FakeTwilioCall) -> bytes:
    """The caller asks for the booking and listens to the whole reply; what it heard."""
    speech = caller_speech(CALLER_SAYS)
    spoke_at = await call.say(speech)
    first_reply = await call.wait_for_speech(after=spoke_at + len(speech) / 2 / TWILIO_RATE)
    await call.wait_for_quiet(quiet_secs=1.0)
    return call.heard(since=first_reply - 0.1)


def assert_booking_understood(llm: FakeOpenAI, heard: bytes) -> None:
    """The server heard the caller (pocketsphinx) and asked the LLM with the transcript;
    the caller heard the LLM's answer, spoken by piper over the phone line."""
    asked = [r for r in llm.requests if "book" in (r.last_user_text or "")]
    assert asked, [r.last_user_text for r in llm.requests]
    assert share_heard(CALLER_WORDS, asked[-1].last_user_text or "") >= 0.65
    transcript = transcribe(heard, TWILIO_RATE)
    assert share_heard(AGENT_WORDS, transcript) >= 0.65, transcript


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
