"""Thinking and background sounds: the shipped clips, a mixer, and the thinking switch.

:class:`CallSoundMixer` sits in the output transport (``audio_out_mixer``): it adds
the background loop at its volume under everything, and the thinking clip while
thinking is on. :class:`ThinkingSoundController` turns thinking on, with the
configured probability, when the LLM starts a reply, and off when the agent's
audio starts, the caller interrupts, or the call ends. The mixer also turns it
off by itself as soon as it mixes agent audio, so the two never overlap.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from pipecat.audio.mixers.base_audio_mixer import BaseAudioMixer
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    CancelFrame,
    EndFrame,
    Frame,
    InterruptionFrame,
    LLMFullResponseStartFrame,
    MixerControlFrame,
    MixerEnableFrame,
    MixerUpdateSettingsFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from openrevox.runtime.audio.pcm import FloatArray, resample, to_float, to_pcm16

THINKING_SOUNDS = (
    "city-ambience.ogg",
    "forest-ambience.ogg",
    "office-ambience.ogg",
    "crowded-room.ogg",
    "keyboard-typing.ogg",
    "keyboard-typing2.ogg",
    "hold_music.ogg",
)
BACKGROUND_SOUNDS = ("audio/office.ogg",)
# Agent audio quieter than this (RMS, fraction of full scale) counts as silence.
_SPEECH_RMS = 0.003


def asset_path(name: str) -> Path:
    """Where a shipped clip lives, by its wire name (``hold_music.ogg``, ``audio/office.ogg``)."""
    if name not in THINKING_SOUNDS and name not in BACKGROUND_SOUNDS:
        raise ValueError(f"unknown sound {name!r}")
    return Path(str(files("openrevox").joinpath("assets", *name.split("/"))))


@functools.lru_cache(maxsize=32)
def load_clip(name: str, sample_rate: int) -> FloatArray:
    """A clip as mono floats at ``sample_rate``, decoded once per process."""
    data, rate = sf.read(asset_path(name), dtype="float32", always_2d=True)
    clip = resample(data.mean(axis=1), int(rate), sample_rate)
    clip.setflags(write=False)
    return clip


class _Loop:
    """A clip played round and round, a chunk at a time."""

    def __init__(self, clip: FloatArray) -> None:
        self.clip = clip
        self.position = 0

    def take(self, count: int) -> FloatArray:
        indices = (self.position + np.arange(count)) % self.clip.size
        self.position = (self.position + count) % self.clip.size
        return self.clip[indices]


class CallSoundMixer(BaseAudioMixer):
    """Mixes a background loop and, while thinking, a thinking loop into the agent's audio.

    Volumes are gains on the clips (0 silent, 1 as shipped: RMS -20 dBFS). Control
    at run time with ``MixerUpdateSettingsFrame(settings={...})``: ``thinking``
    (bool), ``thinking_volume``, ``background_volume``; ``MixerEnableFrame``
    mutes or unmutes both.
    """

    def __init__(
        self,
        *,
        background: str | None = None,
        background_volume: float = 0.5,
        thinking: str | None = None,
        thinking_volume: float = 0.5,
    ) -> None:
        self._names = {"background": background, "thinking": thinking}
        self.background_volume = background_volume
        self.thinking_volume = thinking_volume
        self.thinking = False
        self.enabled = True
        self._loops: dict[str, _Loop] = {}

    async def start(self, sample_rate: int) -> None:
        for role, name in self._names.items():
            if name is not None:
                clip = await asyncio.to_thread(load_clip, name, sample_rate)
                self._loops[role] = _Loop(clip)

    async def stop(self) -> None:
        self.thinking = False

    async def process_frame(self, frame: MixerControlFrame) -> None:
        if isinstance(frame, MixerEnableFrame):
            self.enabled = frame.enable
        elif isinstance(frame, MixerUpdateSettingsFrame):
            self.apply(frame.settings)

    def apply(self, settings: Mapping[str, Any]) -> None:
        """Apply the settings of a ``MixerUpdateSettingsFrame``."""
        if "thinking" in settings:
            self.thinking = bool(settings["thinking"])
        if "thinking_volume" in settings:
            self.thinking_volume = float(settings["thinking_volume"])
        if "background_volume" in settings:
            self.background_volume = float(settings["background_volume"])

    async def mix(self, audio: bytes) -> bytes:
        return self.mix_now(audio)

    def mix_now(self, audio: bytes) -> bytes:
        """Synchronous body of :meth:`mix`."""
        background = self._loops.get("background")
        thinking = self._loops.get("thinking")
        if not self.enabled or (background is None and (thinking is None or not self.thinking)):
            return audio
        out = to_float(audio)
        if self.thinking and out.size and float(np.sqrt(np.mean(out * out))) > _SPEECH_RMS:
            self.thinking = False  # the agent speaks: thinking is over
        if background is not None and self.background_volume > 0:
            out = out + background.take(out.size) * self.background_volume
        if thinking is not None and self.thinking and self.thinking_volume > 0:
            out = out + thinking.take(out.size) * self.thinking_volume
        return to_pcm16(out)


class ThinkingSoundController(FrameProcessor):
    """Turns the mixer's thinking sound on while the agent thinks.

    Place it between the TTS service and ``transport.output()``. Each time the
    LLM starts a reply, thinking turns on with ``probability``; it turns off when
    the agent starts speaking, the caller interrupts or speaks, or the call ends.
    """

    def __init__(self, *, probability: float, rng: random.Random | None = None) -> None:
        super().__init__()
        self.probability = probability
        self.thinking = False
        self._rng = rng or random.Random()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, LLMFullResponseStartFrame):
            if not self.thinking and self._rng.random() < self.probability:
                await self._switch(True)
        elif isinstance(
            frame, (BotStartedSpeakingFrame, InterruptionFrame, UserStartedSpeakingFrame)
        ):
            await self._switch(False)
        elif isinstance(frame, (EndFrame, CancelFrame)):
            self.thinking = False

    async def _switch(self, on: bool) -> None:
        if self.thinking == on:
            return
        self.thinking = on
        await self.push_frame(MixerUpdateSettingsFrame(settings={"thinking": on}))
