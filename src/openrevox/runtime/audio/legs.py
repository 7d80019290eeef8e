"""The audio side of a call: speech services, sounds and recording, from the assistant.

``AudioOptions`` is read from the assistant's wire config; ``CallAudio`` builds the
pieces: STT and TTS (vendor or local), Silero VAD and turn strategies, the sound
mixer and thinking switch, the stereo recorder. They plug into the session's
pipeline (``runtime.pipeline``) around a media transport (Twilio).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from openrevox.config import Settings
from openrevox.providers.stt.base import STTChoice, make_stt
from openrevox.providers.tts.base import TTSChoice, make_tts
from openrevox.runtime.audio.batched_vad import BatchedSileroVADAnalyzer
from openrevox.runtime.audio.recording import CallerAudioTap, StereoRecorder
from openrevox.runtime.audio.sounds import CallSoundMixer, ThinkingSoundController
from openrevox.runtime.pipeline import AudioLegs


def default_vad() -> VADParams:
    """Silero's defaults, but a segment ends on 0.5 s of silence (not 0.2 s), so the
    segmented local STT hears whole phrases."""
    return VADParams(confidence=0.7, start_secs=0.2, stop_secs=0.5, min_volume=0.6)


@dataclass(frozen=True)
class AudioOptions:
    """The assistant's audio settings (wire field names), plus where to record."""

    voice: Mapping[str, Any] | None = None
    stt_model: str | None = None
    stt_terms: Sequence[str] = ()
    stt_general: Mapping[str, str] = field(default_factory=dict)
    thinking_sound: str | None = None
    thinking_sound_probability: float = 0.5
    thinking_sound_volume: float = 0.5
    background_sound: str | None = None
    background_sound_volume: float = 0.5
    recording_path: Path | None = None
    vad: VADParams = field(default_factory=default_vad)
    user_speech_timeout: float = 0.6
    # The provider of a realtime (speech-to-speech) model: it hears and speaks itself.
    speech_to_speech: str | None = None

    @classmethod
    def from_assistant(
        cls, assistant: Mapping[str, Any], *, recording_path: Path | None = None
    ) -> AudioOptions:
        """Read the audio fields of an assistant wire dict (absent fields: defaults)."""

        def unit(name: str, default: float) -> float:
            value = assistant.get(name)
            return float(value) if value is not None else default

        context = assistant.get("stt_context") or {}
        llm_model = assistant.get("llm_model") or {}
        realtime = llm_model.get("type") == "realtime"
        return cls(
            speech_to_speech=str(llm_model.get("provider")) if realtime else None,
            voice=assistant.get("voice"),
            stt_model=assistant.get("stt_model"),
            stt_terms=tuple(context.get("terms") or ()),
            stt_general={kv["key"]: kv["value"] for kv in context.get("general") or []},
            thinking_sound=assistant.get("thinking_sound"),
            thinking_sound_probability=unit("thinking_sound_probability", 0.5),
            thinking_sound_volume=unit("thinking_sound_volume", 0.5),
            background_sound=assistant.get("background_sound"),
            background_sound_volume=unit("background_sound_volume", 0.5),
            recording_path=recording_path,
        )


class CallAudio:
    """The audio side of one call (single use): speech services, sounds, recording.

    ``pipeline_legs()`` is what the session's ``build_pipeline`` takes (STT after the
    media input, TTS after the LLM, VAD and turn strategies in the user aggregator);
    ``media_outputs()`` wraps the media transport's output (thinking switch before it,
    recorder after it); ``mixer`` and ``tts.output_volume`` go to the transport.
    """

    def __init__(
        self,
        options: AudioOptions,
        settings: Settings,
        *,
        in_sample_rate: int = 16000,
        out_sample_rate: int = 8000,
        recording_sample_rate: int | None = None,
    ) -> None:
        self.options = options
        self.settings = settings
        self.in_sample_rate = in_sample_rate
        self.out_sample_rate = out_sample_rate
        self.mixer: CallSoundMixer | None = None
        self.thinking: ThinkingSoundController | None = None
        if options.background_sound or options.thinking_sound:
            self.mixer = CallSoundMixer(
                background=options.background_sound,
                background_volume=options.background_sound_volume,
                thinking=options.thinking_sound,
                thinking_volume=options.thinking_sound_volume,
            )
        if options.thinking_sound:
            self.thinking = ThinkingSoundController(probability=options.thinking_sound_probability)
        self.recorder: StereoRecorder | None = None
        if options.recording_path is not None:
            self.recorder = StereoRecorder(
                options.recording_path, sample_rate=recording_sample_rate or out_sample_rate
            )

    # Speech services are made when first used: a realtime model needs none of them.

    @cached_property
    def tts(self) -> TTSChoice:
        return make_tts(self.options.voice, self.settings, sample_rate=self.out_sample_rate)

    @cached_property
    def stt(self) -> STTChoice:
        options = self.options
        return make_stt(
            options.stt_model, self.settings, options.stt_terms, context_general=options.stt_general
        )

    @cached_property
    def vad_analyzer(self) -> VADAnalyzer:
        if self.settings.batched_vad:
            return BatchedSileroVADAnalyzer(params=self.options.vad)
        return SileroVADAnalyzer(params=self.options.vad)

    @property
    def output_volume(self) -> float:
        """The gain of the agent's audio (the voice's volume; a realtime model's: 1)."""
        return 1.0 if self.options.speech_to_speech else self.tts.output_volume

    def user_turn_strategies(self) -> UserTurnStrategies:
        """VAD (or a transcript) starts a turn and interrupts the agent; the turn ends
        after ``user_speech_timeout`` of silence once a transcript has arrived."""
        return UserTurnStrategies(
            stop=[
                SpeechTimeoutUserTurnStopStrategy(
                    user_speech_timeout=self.options.user_speech_timeout
                )
            ]
        )

    def pipeline_legs(self) -> AudioLegs:
        """The session pipeline's audio legs (``runtime.pipeline.AudioLegs``)."""
        if self.options.speech_to_speech:
            return AudioLegs(
                audio_in_sample_rate=self.in_sample_rate,
                audio_out_sample_rate=self.out_sample_rate,
                engines=self.engines,
                caller_audio_end=self.caller_audio_end(),
                speech_to_speech=True,
            )
        return AudioLegs(
            stt=self.stt.service,
            tts=self.tts.service,
            vad_analyzer=self.vad_analyzer,
            user_turn_strategies=self.user_turn_strategies(),
            audio_in_sample_rate=self.in_sample_rate,
            audio_out_sample_rate=self.out_sample_rate,
            engines=self.engines,
            caller_audio_end=self.caller_audio_end(),
        )

    def caller_audio_end(self) -> FrameProcessor:
        """After the user aggregator: the caller's audio ends there, recorded if the call
        is (``recording.CallerAudioTap``)."""
        return self.recorder.caller_tap() if self.recorder is not None else CallerAudioTap()

    def media_outputs(self, media_out: FrameProcessor) -> list[FrameProcessor]:
        """The thinking switch, ``media_out`` (the transport's output), the recorder."""
        chain: list[FrameProcessor] = []
        if self.thinking is not None:
            chain.append(self.thinking)
        chain.append(media_out)
        if self.recorder is not None:
            chain.append(self.recorder.processor)
        return chain

    @property
    def engines(self) -> dict[str, str]:
        """What spoke and listened, for the call record: ``{"tts": ..., "stt": ...}``."""
        if self.options.speech_to_speech:
            engine = f"{self.options.speech_to_speech}-realtime"
            return {"tts": engine, "stt": engine}
        return {"tts": self.tts.engine, "stt": self.stt.engine}
