"""Build the Pipecat pipeline of a call from its config (the seam for audio legs).

    [*transport inputs, stt?, *listeners, gate, user context, caller audio end?,
     gate.turns, llm (+tools), tts?, *transport outputs, assistant context]

The text transport gives a text input and a text output that stands in for TTS and
the speaker. An audio transport gives its media-stream input/output processors and
plugs ``AudioLegs``: STT, TTS, a VAD analyzer and user-turn strategies. Listeners
(voicemail detection) hear the callee before the gate, audio and transcripts alike.

A realtime (speech-to-speech) model on audio hears and speaks itself, and its server
ends the caller's turns; its transcripts of the caller come back up from it:

    [*transport inputs, gate, user context, gate.turns, *listeners, llm,
     caller audio end, *transport outputs, assistant context]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.audio.vad.vad_analyzer import VADAnalyzer
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMAssistantAggregator,
    LLMContextAggregatorPair,
    LLMUserAggregator,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.turns.user_start import ExternalUserTurnStartStrategy
from pipecat.turns.user_stop import ExternalUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies, UserTurnStrategies

from openrevox.providers.llm.realtime import RealtimeLLM
from openrevox.runtime.call_config import CallConfig
from openrevox.runtime.gate import UserInputGate


@dataclass
class AudioLegs:
    """What an audio transport plugs into the pipeline; all optional for text."""

    stt: FrameProcessor | None = None
    tts: FrameProcessor | None = None
    vad_analyzer: VADAnalyzer | None = None
    user_turn_strategies: UserTurnStrategies | None = None
    audio_in_sample_rate: int | None = None
    audio_out_sample_rate: int | None = None
    engines: dict[str, str] = field(default_factory=dict)  # {"tts": ..., "stt": ...}
    # After the user aggregator: where the caller's audio frames end (and are recorded).
    caller_audio_end: FrameProcessor | None = None
    # A realtime model hears the caller and speaks: no STT, TTS or VAD of ours.
    speech_to_speech: bool = False


@dataclass
class BuiltPipeline:
    pipeline: Pipeline
    context: LLMContext
    user: LLMUserAggregator
    assistant: LLMAssistantAggregator
    gate: UserInputGate
    llm: LLMService[Any]

    @property
    def realtime(self) -> bool:
        return isinstance(self.llm, RealtimeLLM)

    async def stop_listening(self) -> None:
        """The callee is answered no more: their turns are dropped (a realtime model's
        server is told to stop answering them)."""
        self.gate.close()
        if isinstance(self.llm, RealtimeLLM):
            await self.llm.stop_listening()


def text_turn_strategies() -> UserTurnStrategies:
    """Turns announced by the input itself (one text line = one turn), ended at once."""
    return UserTurnStrategies(
        start=[ExternalUserTurnStartStrategy(enable_interruptions=False)],
        stop=[ExternalUserTurnStopStrategy(timeout=0.02)],
    )


def tools_schema(config: CallConfig) -> ToolsSchema:
    return ToolsSchema(
        standard_tools=[
            FunctionSchema(
                name=t.name,
                description=t.description,
                properties=t.properties,
                required=list(t.required),
            )
            for t in config.tools
        ]
    )


def build_pipeline(
    config: CallConfig,
    *,
    input_processors: list[FrameProcessor],
    output_processors: list[FrameProcessor],
    llm: LLMService[Any],
    audio: AudioLegs | None = None,
    listeners: Sequence[FrameProcessor] = (),
) -> BuiltPipeline:
    """The call's pipeline. ``llm`` carries the system prompt; the tools go in the context."""
    audio = audio or AudioLegs()
    context = LLMContext(tools=tools_schema(config))
    if isinstance(llm, RealtimeLLM):
        llm.attach(context)
    if audio.speech_to_speech:
        return _speech_to_speech(
            context, input_processors, output_processors, llm, audio, listeners
        )
    strategies = audio.user_turn_strategies or (
        text_turn_strategies() if audio.stt is None else None
    )
    pair = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            user_turn_strategies=strategies, vad_analyzer=audio.vad_analyzer
        ),
        realtime_service_mode=False,
    )
    gate = UserInputGate()
    processors: list[FrameProcessor] = [*input_processors]
    if audio.stt is not None:
        processors.append(audio.stt)
    processors += [*listeners, gate, pair.user()]
    if audio.caller_audio_end is not None:
        processors.append(audio.caller_audio_end)
    processors += [gate.turns, llm]
    if audio.tts is not None:
        processors.append(audio.tts)
    processors += [*output_processors, pair.assistant()]
    return BuiltPipeline(Pipeline(processors), context, pair.user(), pair.assistant(), gate, llm)


def _speech_to_speech(
    context: LLMContext,
    input_processors: list[FrameProcessor],
    output_processors: list[FrameProcessor],
    llm: LLMService[Any],
    audio: AudioLegs,
    listeners: Sequence[FrameProcessor],
) -> BuiltPipeline:
    """The pipeline of a realtime model on audio (module docstring): turns come from
    its server (Pipecat's realtime mode of the aggregators)."""
    if not isinstance(llm, RealtimeLLM):
        raise TypeError("speech-to-speech audio legs need a realtime model")
    # Its server's turns, as the service recommends (given here: Pipecat's default
    # strategies would load a smart-turn model per call before that recommendation).
    params = LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies())
    pair = LLMContextAggregatorPair(context, user_params=params, realtime_service_mode=True)
    gate = UserInputGate()
    processors: list[FrameProcessor] = [*input_processors, gate, pair.user(), gate.turns]
    processors += [*listeners, llm]
    if audio.caller_audio_end is not None:
        processors.append(audio.caller_audio_end)
    processors += [*output_processors, pair.assistant()]
    return BuiltPipeline(Pipeline(processors), context, pair.user(), pair.assistant(), gate, llm)
