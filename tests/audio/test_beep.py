"""The answering-machine beep finder on synthesized tones and on real (piper) speech."""

from __future__ import annotations

import numpy as np
import pytest

from openrevox.providers.tts.local_piper import synthesize
from openrevox.runtime.audio.pcm import resample_pcm16, to_float, to_pcm16
from openrevox.runtime.voicemail.beep import BeepDetector, BeepEnded, BeepEvent, BeepStarted

from .twilio_peer import ulaw_decode, ulaw_encode


def tone(frequency: float, secs: float, rate: int, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(rate * secs)) / rate
    return level * np.sin(2 * np.pi * frequency * t)


def quiet(secs: float, rate: int) -> np.ndarray:
    return np.zeros(int(rate * secs))


def feed(samples: np.ndarray, rate: int, chunk: int = 320) -> list[BeepEvent]:
    detector = BeepDetector(rate)
    pcm = to_pcm16(samples)
    events: list[BeepEvent] = []
    for start in range(0, len(pcm), chunk * 2):
        events += detector.feed(pcm[start : start + chunk * 2])
    return events


@pytest.mark.parametrize("rate", [8000, 16000])
def test_a_half_second_beep_is_found_with_its_frequency_and_end(rate: int) -> None:
    audio = np.concatenate([quiet(0.5, rate), tone(1000, 0.5, rate), quiet(0.5, rate)])
    started, ended = feed(audio, rate)
    assert isinstance(started, BeepStarted) and isinstance(ended, BeepEnded)
    assert started.frequency_hz == pytest.approx(1000, abs=15)
    assert started.started_secs == pytest.approx(0.5, abs=0.04)
    assert started.at_secs == pytest.approx(0.8, abs=0.05)  # once it has lasted 0.3 s
    assert ended.at_secs == pytest.approx(1.0, abs=0.04)
    assert ended.duration_secs == pytest.approx(0.5, abs=0.07)


@pytest.mark.parametrize("frequency", [700, 850, 1000, 1400])
def test_usual_beep_frequencies_over_line_noise(frequency: float) -> None:
    rate = 16000
    clean = np.concatenate([quiet(0.5, rate), tone(frequency, 0.6, rate, 0.1), quiet(0.4, rate)])
    audio = clean + np.random.default_rng(7).normal(0, 0.01, clean.size)
    events = feed(audio, rate)
    assert [type(e) for e in events] == [BeepStarted, BeepEnded]
    assert events[0].frequency_hz == pytest.approx(frequency, rel=0.02)


def test_through_a_phone_line_in_odd_chunks() -> None:
    line = ulaw_decode(ulaw_encode(to_pcm16(tone(1000, 0.45, 8000))))
    audio = to_float(resample_pcm16(line, 8000, 16000))
    audio = np.concatenate([quiet(0.3, 16000), audio, quiet(0.3, 16000)])
    events = feed(audio, 16000, chunk=137)
    assert [type(e) for e in events] == [BeepStarted, BeepEnded]


def test_what_is_not_a_beep() -> None:
    rate = 16000
    assert feed(tone(1000, 0.2, rate), rate) == []  # too short
    assert feed(tone(300, 1.0, rate), rate) == []  # outside the band
    keypad = tone(697, 0.6, rate, 0.15) + tone(1209, 0.6, rate, 0.15)
    assert feed(keypad, rate) == []  # two tones
    ringback = tone(440, 1.0, rate, 0.15) + tone(480, 1.0, rate, 0.15)
    assert feed(ringback, rate) == []
    assert feed(tone(1000, 1.0, rate, 0.002), rate) == []  # too faint
    sweep = np.sin(2 * np.pi * np.cumsum(np.linspace(600, 1500, rate)) / rate) * 0.3
    assert feed(sweep, rate) == []  # not steady
    assert feed(np.random.default_rng(1).normal(0, 0.1, rate), rate) == []  # noise


def test_speech_is_not_a_beep() -> None:
    pcm, rate = synthesize(
        "Hi, you have reached the voicemail of John Smith. Please leave a message, "
        "and have a wonderful afternoon. Beeeep."
    )
    audio = to_float(resample_pcm16(pcm, rate, 16000))
    assert feed(audio, 16000) == []


def test_two_beeps_are_two() -> None:
    rate = 8000
    audio = np.concatenate(
        [tone(1000, 0.4, rate), quiet(0.3, rate), tone(1400, 0.4, rate), quiet(0.2, rate)]
    )
    events = feed(audio, rate)
    assert [type(e) for e in events] == [BeepStarted, BeepEnded, BeepStarted, BeepEnded]
    assert [round(e.frequency_hz, -2) for e in events] == [1000, 1000, 1400, 1400]
