"""The Pipecat processor that feeds voicemail detection from a call's frames.

Placed after STT and before the session's input gate, it sees the callee's audio (for
the beep), their transcriptions, and when they start and stop speaking (Silero VAD
frames, broadcast upstream by the user aggregator; on text, the input's
started/stopped frames). With a realtime model it sits after the user aggregator and
the callee's transcriptions come up from the model. It passes every frame on, except
the callee's words once a
voicemail is detected: the agent must not answer a greeting (they go to the transcript
through the listener). A poll on the session
clock (``VoicemailParams.tick_secs``) lets silence decide. When detection is over
(a person answered, or the message was left) it only passes frames on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    StartFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from openrevox.runtime.clock import Clock
from openrevox.runtime.voicemail.beep import BeepDetector, BeepEnded, BeepStarted
from openrevox.runtime.voicemail.classify import Classification
from openrevox.runtime.voicemail.tracker import (
    Detected,
    GreetingOver,
    Human,
    TrackerEvent,
    VoicemailParams,
    VoicemailTracker,
)

log = logging.getLogger(__name__)


class VoicemailListener(Protocol):
    """What the detector tells the session (``CallSession`` implements it)."""

    async def voicemail_detected(self, classification: Classification) -> None:
        """A voicemail answered: stop the agent and stop listening (or hang up)."""
        ...

    async def voicemail_greeting_over(self, reason: str) -> None:
        """The voicemail records now: leave the message and hang up."""
        ...

    def voicemail_heard(self, text: str) -> None:
        """Words of the greeting, kept from the agent (for the transcript)."""
        ...


class VoicemailDetector(FrameProcessor):
    """Voicemail detection for one call (see the module docstring)."""

    def __init__(
        self,
        params: VoicemailParams,
        *,
        clock: Clock,
        listener: VoicemailListener,
        transcripts_from: FrameDirection = FrameDirection.DOWNSTREAM,
    ) -> None:
        """``transcripts_from``: where the callee's transcriptions come from (upstream
        when a realtime model after the detector transcribes them)."""
        super().__init__(name="VoicemailDetector")
        self.params = params
        self._transcripts_from = transcripts_from
        self._clock = clock
        self._listener = listener
        self.tracker = VoicemailTracker(params, now=clock.now())
        self._beeps: BeepDetector | None = None
        self._vad_seen = False
        self._poll: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        """Still listening, or waiting for the greeting to end."""
        return self.tracker.state != "done"

    @property
    def voicemail(self) -> bool:
        """The call reached a voicemail."""
        verdict = self.tracker.classification
        return verdict is not None and verdict.verdict == "voicemail"

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            self.tracker = VoicemailTracker(self.params, now=self._clock.now())
            self._poll = self.create_task(self._run_poll(), "voicemail-poll")
            return
        if isinstance(frame, EndFrame):
            await self._stop_poll()
        elif self.active:
            if not await self._observe(frame, direction):
                return  # the greeting's words: kept from the agent
        elif self.voicemail and isinstance(frame, TranscriptionFrame) and frame.text.strip():
            self._listener.voicemail_heard(frame.text.strip())  # transcribed late
            return
        await self.push_frame(frame, direction)

    async def machine_answered(self, reason: str, *, greeting_over: bool) -> None:
        """An answering-machine verdict from the telephony provider."""
        now = self._clock.now()
        await self._act(self.tracker.machine_answered(reason, now, greeting_over=greeting_over))

    async def cleanup(self) -> None:
        await super().cleanup()  # type: ignore[no-untyped-call]
        await self._stop_poll()

    async def _stop_poll(self) -> None:
        if self._poll is not None:
            await self.cancel_task(self._poll)
            self._poll = None

    async def _observe(self, frame: Frame, direction: FrameDirection) -> bool:
        """Feed the tracker; False when the frame must not go on."""
        now = self._clock.now()
        tracker = self.tracker
        if isinstance(frame, InputAudioRawFrame):
            if self.params.listen_for_beep:
                await self._listen_for_beep(frame, now)
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._vad_seen = True
            log.debug("voicemail: speech started %.2f s ago", frame.start_secs)
            tracker.speech_started(now - frame.start_secs)
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._vad_seen = True
            log.debug("voicemail: speech stopped %.2f s ago", frame.stop_secs)
            tracker.speech_stopped(now - frame.stop_secs)
        elif isinstance(frame, UserStartedSpeakingFrame) and not self._vad_seen:
            tracker.speech_started(now)
        elif isinstance(frame, UserStoppedSpeakingFrame) and not self._vad_seen:
            tracker.speech_stopped(now)
        elif isinstance(frame, TranscriptionFrame) and direction == self._transcripts_from:
            log.debug("voicemail: heard %r", frame.text)
            event = tracker.transcript(frame.text, now)
            await self._act(event)
            if tracker.state == "detected" and frame.text.strip():
                self._listener.voicemail_heard(frame.text.strip())
                return False
        elif isinstance(frame, InterimTranscriptionFrame):
            return tracker.state != "detected"
        return True

    async def _listen_for_beep(self, frame: InputAudioRawFrame, now: float) -> None:
        if frame.num_channels != 1:
            return
        if self._beeps is None or self._beeps.sample_rate != frame.sample_rate:
            self._beeps = BeepDetector(frame.sample_rate)
        for beep in self._beeps.feed(frame.audio):
            if isinstance(beep, BeepStarted):
                log.info("voicemail: a beep at %.0f Hz", beep.frequency_hz)
                await self._act(self.tracker.beep_started(now))
            elif isinstance(beep, BeepEnded):
                self.tracker.beep_ended(now)

    async def _run_poll(self) -> None:
        while self.active:
            await self._clock.sleep(self.params.tick_secs)
            await self._act(self.tracker.tick(self._clock.now()))

    async def _act(self, event: TrackerEvent | None) -> None:
        if event is None:
            return
        if isinstance(event, Detected):
            log.info("voicemail detected (%s)", event.classification.reason)
            await self._listener.voicemail_detected(event.classification)
        elif isinstance(event, Human):
            log.info("a person answered (%s)", event.classification.reason)
            self._beeps = None
        elif isinstance(event, GreetingOver):
            self._beeps = None
            await self._listener.voicemail_greeting_over(event.reason)
