"""A minimal voice pipeline around a media transport, in the session pipeline's shape.

``media in -> STT -> user aggregator (Silero VAD, turn strategies) -> caller audio end
-> LLM -> TTS -> [thinking switch] -> media out -> [recorder] -> assistant aggregator``
— the order
``runtime.pipeline.build_pipeline`` uses, without tools, gate or records. It serves
the audio tests; calls run through ``CallSession`` (docs/audio.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pipecat.frames.frames import TTSSpeakFrame
from pipecat.observers.base_observer import BaseObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.workers.runner import WorkerRunner

from openrevox.runtime.audio.legs import CallAudio


class MediaTransport(Protocol):
    """The part of a call transport the pipeline needs (``TwilioCallTransport`` has it)."""

    disconnected: asyncio.Event

    def input_processors(self) -> list[FrameProcessor]: ...

    def output_processors(self) -> list[FrameProcessor]: ...


def speech(
    text: str, *, interruptible: bool = True, append_to_context: bool = True
) -> TTSSpeakFrame:
    """A frame that makes the agent say ``text``.

    With ``interruptible=False`` the caller cannot cut it off: Pipecat keeps an
    uninterruptible frame's synthesis and audio through an interruption (the
    caller is still heard and transcribed). The session says
    ``max_duration_end_message`` and the end-of-call sentence this way.
    """
    frame = TTSSpeakFrame(text, append_to_context=append_to_context)
    frame.interruptible = interruptible
    return frame


@dataclass
class VoicePipeline:
    """A built pipeline, ready to :meth:`run` once."""

    worker: PipelineWorker
    transport: MediaTransport
    context: LLMContext
    first_frames: tuple[TTSSpeakFrame, ...] = ()

    async def run(self) -> None:
        """Run until the pipeline ends or the caller hangs up (then it is cancelled)."""
        if self.first_frames:
            await self.worker.queue_frames(list(self.first_frames))
        watcher = asyncio.create_task(self._cancel_on_hangup())
        try:
            runner = WorkerRunner(handle_sigint=False)
            await runner.add_workers(self.worker)
            await runner.run()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _cancel_on_hangup(self) -> None:
        await self.transport.disconnected.wait()
        await self.worker.cancel()


def build_voice_pipeline(
    transport: MediaTransport,
    audio: CallAudio,
    llm: LLMService[Any],
    *,
    first_message: str | None = None,
    first_message_interruptible: bool = True,
    observers: Sequence[BaseObserver] = (),
) -> VoicePipeline:
    """Wire ``audio`` and ``llm`` (its settings carry the system instruction) around the
    transport; ``first_message`` is said first."""
    context = LLMContext()
    aggregators = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            vad_analyzer=audio.vad_analyzer, user_turn_strategies=audio.user_turn_strategies()
        ),
        realtime_service_mode=False,
    )
    processors: list[FrameProcessor] = [*transport.input_processors()]
    processors += [audio.stt.service, aggregators.user(), audio.caller_audio_end(), llm]
    processors += [audio.tts.service, *transport.output_processors(), aggregators.assistant()]
    worker = PipelineWorker(
        Pipeline(processors),
        params=PipelineParams(
            audio_in_sample_rate=audio.in_sample_rate,
            audio_out_sample_rate=audio.out_sample_rate,
            enable_metrics=True,
        ),
        idle_timeout_secs=None,
        enable_rtvi=False,
        observers=list(observers),
    )
    first = (
        ()
        if first_message is None
        else (speech(first_message, interruptible=first_message_interruptible),)
    )
    return VoicePipeline(worker, transport, context, first)
