"""Processors that stop the callee's input once the call is ending (or reached a
voicemail): the callee is no longer heard, and no turn of theirs reaches the LLM."""

from __future__ import annotations

from pipecat.frames.frames import (
    Frame,
    InputDTMFFrame,
    InterimTranscriptionFrame,
    LLMContextFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

USER_FRAMES = (
    TranscriptionFrame,
    InterimTranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
    InputDTMFFrame,
)


class UserInputGate(FrameProcessor):
    """Passes everything until ``close()``; then drops what the callee says, so closing
    words (max-duration message, end-of-call sentence, voicemail message) are neither
    answered nor cut.

    It sits before the user aggregator; ``turns`` (its other half) sits after it and
    drops the aggregator's LLM requests once closed: a turn the callee had finished
    before the gate closed is not answered either.
    """

    def __init__(self) -> None:
        super().__init__(name="UserInputGate")
        self.closed = False
        self.turns = TurnGate(self)

    def close(self) -> None:
        self.closed = True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if (
            self.closed
            and direction == FrameDirection.DOWNSTREAM
            and isinstance(frame, USER_FRAMES)
        ):
            return
        await self.push_frame(frame, direction)


class TurnGate(FrameProcessor):
    """Between the user aggregator and the LLM: drops user-turn requests to the LLM
    (downstream ``LLMContextFrame``) once its ``UserInputGate`` is closed."""

    def __init__(self, gate: UserInputGate) -> None:
        super().__init__(name="TurnGate")
        self._gate = gate

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if (
            self._gate.closed
            and direction == FrameDirection.DOWNSTREAM
            and isinstance(frame, LLMContextFrame)
        ):
            return
        await self.push_frame(frame, direction)
