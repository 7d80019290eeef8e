"""The session worker's observer proxy, quiet about audio frames its observers ignore."""

from __future__ import annotations

from pipecat.frames.frames import InputAudioRawFrame, OutputAudioRawFrame
from pipecat.observers.base_observer import FrameProcessed, FramePushed
from pipecat.pipeline.worker_observer import WorkerObserver

AUDIO_FRAMES = (InputAudioRawFrame, OutputAudioRawFrame)


class QuietAudioObserver(WorkerObserver):
    """Pipecat's observer proxy, which does not pass audio frames on while all its
    observers ignore them (``observes_audio = False``, as ``CallRecorder``): each of a
    call's audio frames (caller and agent, dozens a second) would otherwise be queued to
    every observer at each processor it crosses, and a task woken to drop it. Other
    frames reach the observers as before, in order."""

    def _audio_observed(self) -> bool:
        return any(getattr(o, "observes_audio", True) for o in self._observers)

    async def on_process_frame(self, data: FrameProcessed) -> None:
        if not isinstance(data.frame, AUDIO_FRAMES) or self._audio_observed():
            await super().on_process_frame(data)

    async def on_push_frame(self, data: FramePushed) -> None:
        if not isinstance(data.frame, AUDIO_FRAMES) or self._audio_observed():
            await super().on_push_frame(data)
