"""Shipped clips, the thinking/background mixer at its volumes, and the stereo recorder."""

from __future__ import annotations

import random
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    LLMFullResponseStartFrame,
    MixerUpdateSettingsFrame,
    OutputAudioRawFrame,
    UserStartedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import SleepFrame, run_test

from openrevox.runtime.audio.clipgen import CLIPS, render
from openrevox.runtime.audio.pcm import rms, to_float, to_pcm16
from openrevox.runtime.audio.recording import CallerAudioTap, StereoRecorder
from openrevox.runtime.audio.sounds import (
    BACKGROUND_SOUNDS,
    THINKING_SOUNDS,
    CallSoundMixer,
    ThinkingSoundController,
    asset_path,
    load_clip,
)

RATE = 8000
CHUNK = 160 * 2  # 20 ms of 16-bit audio at 8 kHz
SILENCE = bytes(CHUNK)


def test_every_wire_sound_is_shipped_small_mono_and_licensed() -> None:
    assert set(CLIPS) == set(THINKING_SOUNDS) | set(BACKGROUND_SOUNDS)
    readme = asset_path("hold_music.ogg").parent / "README.md"
    licence_text = readme.read_text()
    for name in CLIPS:
        path = asset_path(name)
        info = sf.info(path)
        assert info.channels == 1 and info.samplerate == 16000, name
        assert 3 <= info.duration <= 10, name
        assert path.stat().st_size < 64_000, name
        assert name in licence_text and "CC0" in licence_text


def test_clips_are_reproducible_from_their_generator() -> None:
    shipped = load_clip("keyboard-typing.ogg", 16000)
    again = render("keyboard-typing.ogg").astype(np.float32)
    assert shipped.size == again.size
    # Vorbis is lossy: same loudness, strongly correlated.
    assert rms(to_pcm16(shipped)) == pytest.approx(rms(to_pcm16(again)), rel=0.05)
    assert np.corrcoef(shipped, again)[0, 1] > 0.9


async def _mix(mixer: CallSoundMixer, chunks: list[bytes]) -> bytes:
    return b"".join([await mixer.mix(chunk) for chunk in chunks])


async def test_background_is_mixed_at_its_volume() -> None:
    clip_rms = rms(to_pcm16(load_clip("audio/office.ogg", RATE)))
    for volume in (0.2, 0.6):
        mixer = CallSoundMixer(background="audio/office.ogg", background_volume=volume)
        await mixer.start(RATE)
        mixed = await _mix(mixer, [SILENCE] * 400)  # 8 s: one whole loop
        assert rms(mixed) == pytest.approx(volume * clip_rms, rel=0.05)


async def test_thinking_plays_at_its_volume_until_the_agent_speaks() -> None:
    clip_rms = rms(to_pcm16(load_clip("keyboard-typing.ogg", RATE)))
    mixer = CallSoundMixer(thinking="keyboard-typing.ogg", thinking_volume=0.5)
    await mixer.start(RATE)
    assert await _mix(mixer, [SILENCE] * 10) == SILENCE * 10  # not thinking: untouched
    await mixer.process_frame(MixerUpdateSettingsFrame(settings={"thinking": True}))
    thinking = await _mix(mixer, [SILENCE] * 250)  # one 5 s loop
    assert rms(thinking) == pytest.approx(0.5 * clip_rms, rel=0.05)
    tone = to_pcm16(0.3 * np.sin(np.arange(160) * 2 * np.pi * 440 / RATE))
    assert to_float(await mixer.mix(tone)) == pytest.approx(to_float(tone), abs=1e-3)
    assert not mixer.thinking  # the agent's first audio ended it
    assert await mixer.mix(SILENCE) == SILENCE


async def test_background_and_thinking_add_up() -> None:
    mixer = CallSoundMixer(
        background="audio/office.ogg",
        background_volume=0.3,
        thinking="hold_music.ogg",
        thinking_volume=0.4,
    )
    await mixer.start(RATE)
    mixer.apply({"thinking": True})
    both = await _mix(mixer, [SILENCE] * 200)
    office = rms(to_pcm16(load_clip("audio/office.ogg", RATE)))
    music = rms(to_pcm16(load_clip("hold_music.ogg", RATE)))
    expected = np.hypot(0.3 * office, 0.4 * music)  # uncorrelated sounds add in power
    assert rms(both) == pytest.approx(expected, rel=0.15)


async def test_thinking_controller_follows_its_probability() -> None:
    on = ThinkingSoundController(probability=1.0)
    down, _ = await run_test(
        on,
        frames_to_send=[LLMFullResponseStartFrame()],
        expected_down_frames=[LLMFullResponseStartFrame, MixerUpdateSettingsFrame],
    )
    assert down[-1].settings == {"thinking": True}  # type: ignore[attr-defined]

    off = ThinkingSoundController(probability=0.0)
    await run_test(
        off,
        frames_to_send=[LLMFullResponseStartFrame()],
        expected_down_frames=[LLMFullResponseStartFrame],
    )

    sometimes = ThinkingSoundController(probability=0.5, rng=random.Random(3))
    turns: list[Frame] = []
    for _ in range(20):
        turns += [LLMFullResponseStartFrame(), SleepFrame(0.005), UserStartedSpeakingFrame()]
    down, _ = await run_test(sometimes, frames_to_send=turns)
    switched_on = [
        f for f in down if isinstance(f, MixerUpdateSettingsFrame) and f.settings["thinking"]
    ]
    draws = random.Random(3)
    assert len(switched_on) == sum(draws.random() < 0.5 for _ in range(20))
    assert 4 <= len(switched_on) <= 16


async def test_thinking_stops_when_the_agent_starts_speaking() -> None:
    controller = ThinkingSoundController(probability=1.0)
    controller.thinking = True
    down, _ = await run_test(
        controller,
        frames_to_send=[BotStartedSpeakingFrame()],
        frames_to_send_direction=FrameDirection.UPSTREAM,
        expected_up_frames=[BotStartedSpeakingFrame],
        expected_down_frames=[MixerUpdateSettingsFrame],
    )
    assert down[0].settings == {"thinking": False}  # type: ignore[attr-defined]
    assert not controller.thinking


async def test_recorder_writes_caller_left_agent_right(tmp_path: Path) -> None:
    path = tmp_path / "calls" / "CA123.wav"
    recorder = StereoRecorder(path, sample_rate=RATE, flush_secs=0.5)
    caller = to_pcm16(0.5 * np.sin(np.arange(RATE) * 2 * np.pi * 300 / RATE))
    agent = to_pcm16(0.25 * np.sin(np.arange(RATE) * 2 * np.pi * 500 / RATE))
    frames: list[Frame] = []
    for i in range(0, len(caller), CHUNK):  # both sides at once, in real time
        frames.append(InputAudioRawFrame(caller[i : i + CHUNK], RATE, 1))
        frames.append(OutputAudioRawFrame(agent[i : i + CHUNK], RATE, 1))
        frames.append(SleepFrame(sleep=0.02))
    await run_test(recorder.processor, frames_to_send=frames)
    await recorder.closed.wait()
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, RATE)
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert stereo.shape[0] == pytest.approx(RATE, rel=0.05)
    left, right = stereo[:, 0].tobytes(), stereo[:, 1].tobytes()
    assert rms(left) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    assert rms(right) == pytest.approx(0.25 / np.sqrt(2), rel=0.05)


async def test_caller_audio_ends_at_the_tap_and_is_recorded_there(tmp_path: Path) -> None:
    """The tap (after the user aggregator) records the caller's frames and stops them;
    the agent's reach the recorder through the pipeline; the file has both, in step."""
    path = tmp_path / "CA-tap.wav"
    recorder = StereoRecorder(path, sample_rate=RATE, flush_secs=0.5)
    caller = to_pcm16(0.5 * np.sin(np.arange(RATE) * 2 * np.pi * 300 / RATE))
    agent = to_pcm16(0.25 * np.sin(np.arange(RATE) * 2 * np.pi * 500 / RATE))
    frames: list[Frame] = []
    for i in range(0, len(caller), CHUNK):
        frames.append(InputAudioRawFrame(caller[i : i + CHUNK], RATE, 1))
        frames.append(OutputAudioRawFrame(agent[i : i + CHUNK], RATE, 1))
        frames.append(SleepFrame(sleep=0.02))
    pipeline = Pipeline([recorder.caller_tap(), recorder.processor])
    down, _ = await run_test(pipeline, frames_to_send=frames)
    await recorder.closed.wait()
    assert not [f for f in down if isinstance(f, InputAudioRawFrame)]
    assert len([f for f in down if isinstance(f, OutputAudioRawFrame)]) == len(caller) // CHUNK
    with wave.open(str(path)) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert stereo.shape[0] == pytest.approx(RATE, rel=0.05)
    assert rms(stereo[:, 0].tobytes()) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    assert rms(stereo[:, 1].tobytes()) == pytest.approx(0.25 / np.sqrt(2), rel=0.05)

    dropped, _ = await run_test(CallerAudioTap(), frames_to_send=frames[:6])
    assert [type(f) for f in dropped] == [OutputAudioRawFrame, OutputAudioRawFrame]
