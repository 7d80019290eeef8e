"""The batched Silero VAD (the default) decides as Pipecat's per-call Silero VAD does."""

from __future__ import annotations

import asyncio
import random

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState
from pipecat.audio.volume import AudioVolumeTracker

from openrevox.config import Settings
from openrevox.providers.tts.local_piper import synthesize
from openrevox.runtime.audio.batched_vad import (
    BatchedSileroVADAnalyzer,
    GatedVolumeTracker,
    SileroBatcher,
    SileroStream,
)
from openrevox.runtime.audio.legs import AudioOptions, CallAudio, default_vad
from openrevox.runtime.audio.pcm import resample_pcm16

RATE = 16000


def _call_audio(seed: int) -> bytes:
    """Silence, a sentence, faint hiss, the sentence again, silence (16 kHz PCM)."""
    pcm, rate = synthesize("Hello, I would like to book an appointment.", volume=1.4)
    speech = resample_pcm16(pcm, rate, RATE)
    rng = np.random.default_rng(seed)
    hiss = rng.normal(0, 40, RATE).astype("<i2").tobytes()
    silence = bytes(2 * RATE)
    return silence + speech + hiss + speech + silence


def _chunks(audio: bytes, seed: int) -> list[bytes]:
    """Chunks as the media input gives them: mostly 20 ms, some bursts of ~95 ms."""
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(audio):
        size = 2 * rng.choice([320, 320, 320, 1520, 1536, 100])
        out.append(audio[at : at + size])
        at += size
    return out


async def _states(analyzer: VADAnalyzer, chunks: list[bytes]) -> list[VADState]:
    analyzer.set_sample_rate(RATE)
    states = [await analyzer.analyze_audio(chunk) for chunk in chunks]
    await analyzer.cleanup()  # type: ignore[no-untyped-call]
    return states


def _transitions(states: list[VADState]) -> list[VADState]:
    return [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]


async def test_one_call_decides_chunk_by_chunk_as_pipecat() -> None:
    chunks = _chunks(_call_audio(1), 1)
    expected = await _states(SileroVADAnalyzer(params=default_vad()), chunks)
    got = await _states(BatchedSileroVADAnalyzer(params=default_vad()), chunks)
    assert VADState.SPEAKING in expected
    assert got == expected


async def test_calls_scored_together_make_the_same_decisions() -> None:
    calls = [_chunks(_call_audio(seed), seed) for seed in range(6)]
    expected = [await _states(SileroVADAnalyzer(params=default_vad()), c) for c in calls]

    async def paced(chunks: list[bytes]) -> list[VADState]:
        analyzer = BatchedSileroVADAnalyzer(params=default_vad())
        analyzer.set_sample_rate(RATE)
        states = []
        for chunk in chunks:
            states.append(await analyzer.analyze_audio(chunk))
            await asyncio.sleep(0)
        for _ in range(10):  # the last windows' scores
            await asyncio.sleep(0.02)
            states.append(await analyzer.analyze_audio(b""))
        await analyzer.cleanup()
        return states

    got = await asyncio.gather(*(paced(c) for c in calls))
    for mine, theirs in zip(got, expected, strict=True):
        assert _transitions(mine) == _transitions(theirs)


@pytest.mark.parametrize("amplitude", [0, 1, 3, 5, 8, 40, 3000])
def test_the_quiet_shortcut_reads_the_volume_pipecat_measures(amplitude: int) -> None:
    rng = np.random.default_rng(amplitude)
    plain, gated = AudioVolumeTracker(), GatedVolumeTracker()  # type: ignore[no-untyped-call]
    n = 512
    for kind in range(4) if amplitude else [0]:
        for _ in range(15):
            if kind == 0:
                x = rng.integers(-amplitude, amplitude + 1, n)
            elif kind == 1:  # the highest frequency, which K-weighting raises most
                x = np.where(np.arange(n) % 2 == 0, amplitude, -amplitude)
            elif kind == 2:
                x = np.round(amplitude * np.sin(2 * np.pi * 7000 * np.arange(n) / RATE))
            else:
                x = np.full(n, amplitude)
            chunk = x.astype("<i2").tobytes()
            plain.update(chunk, RATE)
            gated.update(chunk, RATE)
            assert gated.volume == plain.volume


def test_batched_vad_is_the_default(speech_settings: Settings) -> None:
    audio = CallAudio(AudioOptions(), speech_settings)
    assert isinstance(audio.vad_analyzer, BatchedSileroVADAnalyzer)
    off = speech_settings.model_copy(update={"batched_vad": False})
    assert isinstance(CallAudio(AudioOptions(), off).vad_analyzer, SileroVADAnalyzer)


def _decisions(states: list[VADState]) -> list[tuple[int, VADState]]:
    """The chunks at which a start (SPEAKING) or a stop (QUIET again) was confirmed."""
    confirmed, out = VADState.QUIET, []
    for index, state in enumerate(states):
        if state == VADState.SPEAKING and confirmed == VADState.QUIET:
            confirmed = VADState.SPEAKING
            out.append((index, state))
        elif state == VADState.QUIET and confirmed == VADState.SPEAKING:
            confirmed = VADState.QUIET
            out.append((index, state))
    return out


async def test_a_start_or_stop_is_decided_at_once_not_at_the_next_batch() -> None:
    """Other calls' windows wait for the batch; the windows that may confirm a start or a
    stop are scored at once, so the decision comes on the same chunk as with Pipecat's
    own analyzer, however far off the next batch is."""
    audio = _call_audio(7)
    chunks = [audio[at : at + 640] for at in range(0, len(audio), 640)]  # 20 ms each
    expected = await _states(SileroVADAnalyzer(params=default_vad()), chunks)

    batcher = SileroBatcher(tick_secs=3600)  # batches only when the test says so
    other = SileroStream(RATE, lambda *_: None)  # another call, silent now
    batcher.attach(other)
    analyzer = BatchedSileroVADAnalyzer(params=default_vad(), batcher=batcher)
    analyzer.set_sample_rate(RATE)
    states = []
    for index, chunk in enumerate(chunks):
        if index % 4 == 0:
            batcher.flush()  # a batch every 80 ms
        states.append(await analyzer.analyze_audio(chunk))
    await analyzer.cleanup()

    assert [s for _, s in _decisions(expected)] == [VADState.SPEAKING, VADState.QUIET] * 2
    assert _decisions(states) == _decisions(expected)
