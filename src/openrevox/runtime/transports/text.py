"""The text transport: the same session with the audio legs replaced by text.

Each line the callee types becomes one user turn (a final transcription framed by
started/stopped speaking); the agent's words are collected per utterance, standing in
for TTS and the speaker. ``TextConversation`` drives a session line by line, for the
``openrevox chat`` command, the simulated phone network and tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    LLMAssistantPushAggregationFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TextFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.utils.time import time_now_iso8601

from openrevox.runtime.result import CallResult, TransferRequest
from openrevox.runtime.session import CallSession

UtteranceListener = Callable[[str], None]


class TextInput(FrameProcessor):
    """Head of the pipeline: ``feed(line)`` makes the line one finished user turn."""

    def __init__(self) -> None:
        super().__init__(name="TextInput")

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)

    async def feed(self, text: str) -> None:
        await self.broadcast_frame(UserStartedSpeakingFrame)
        await self.push_frame(
            TranscriptionFrame(
                text=text, user_id="callee", timestamp=time_now_iso8601(), finalized=True
            )
        )
        await self.broadcast_frame(UserStoppedSpeakingFrame)


class TextOutput(FrameProcessor):
    """Stands in for TTS and the speaker: one utterance per LLM reply or spoken text."""

    def __init__(self, on_utterance: UtteranceListener) -> None:
        super().__init__(name="TextOutput")
        self._on_utterance = on_utterance
        self._parts: list[str] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction != FrameDirection.DOWNSTREAM:
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._parts = []
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMTextFrame):
            if not frame.skip_tts:
                self._parts.append(frame.text)
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMFullResponseEndFrame):
            text, self._parts = "".join(self._parts).strip(), []
            if text:
                await self._spoken(text)
            await self.push_frame(frame, direction)
        elif isinstance(frame, TTSSpeakFrame):
            await self._speak(frame)
        else:
            await self.push_frame(frame, direction)

    async def _speak(self, frame: TTSSpeakFrame) -> None:
        """Say a given text as TTS would: its own assistant turn in the context."""
        await self.push_frame(TTSStartedFrame(append_to_context=frame.append_to_context))
        text = TextFrame(frame.text)
        text.append_to_context = frame.append_to_context
        await self.push_frame(text)
        await self._spoken(frame.text)
        await self.push_frame(LLMAssistantPushAggregationFrame())
        await self.push_frame(TTSStoppedFrame())

    async def _spoken(self, text: str) -> None:
        await self.broadcast_frame(BotStartedSpeakingFrame)
        self._on_utterance(text)
        await self.broadcast_frame(BotStoppedSpeakingFrame)


class TextTransport:
    """A call over text: lines in, utterances out; telephony actions are recorded."""

    name = "text"

    def __init__(self, *, on_utterance: UtteranceListener | None = None) -> None:
        self.utterances: list[str] = []
        self.dtmf: list[str] = []
        self.transfers: list[TransferRequest] = []
        self.hung_up = False
        self._listener = on_utterance
        self._input = TextInput()
        self._output = TextOutput(self._utterance)

    def input_processors(self) -> list[FrameProcessor]:
        return [self._input]

    def output_processors(self) -> list[FrameProcessor]:
        return [self._output]

    async def send_text(self, line: str) -> None:
        """The callee says ``line``."""
        await self._input.feed(line)

    async def hangup(self) -> None:
        self.hung_up = True

    async def transfer(self, request: TransferRequest) -> None:
        self.transfers.append(request)

    async def send_dtmf(self, digits: str) -> None:
        self.dtmf.append(digits)

    def _utterance(self, text: str) -> None:
        self.utterances.append(text)
        if self._listener is not None:
            self._listener(text)


class TextConversation:
    """Drives a session over a ``TextTransport``, one exchange at a time::

    chat = TextConversation(session, transport)
    opening = await chat.start()
    replies = await chat.say("Hi, who is this?")
    result = await chat.hang_up()      # or: await chat.result() once the agent ends
    """

    def __init__(self, session: CallSession, transport: TextTransport) -> None:
        self.session = session
        self.transport = transport
        self._task: asyncio.Task[CallResult] | None = None

    async def start(self, *, wait_secs: float = 30.0) -> list[str]:
        """Start the call; returns the opening utterances (none in ``none`` mode)."""
        seen = len(self.transport.utterances)
        self._task = asyncio.create_task(self.session.run())
        await self._settle(None, wait_secs)
        return self.transport.utterances[seen:]

    async def say(self, line: str, *, wait_secs: float = 30.0) -> list[str]:
        """The callee says ``line``; returns what the agent said in reply."""
        seen = len(self.transport.utterances)
        if not self.session.ended:
            before = self.session.llm_requests
            await self.transport.send_text(line)
            await self._settle(before, wait_secs)
        return self.transport.utterances[seen:]

    @property
    def ended(self) -> bool:
        return self.session.ended

    async def result(self, *, wait_secs: float = 30.0) -> CallResult:
        """Wait for the session to end by itself and return its result."""
        if self._task is None:
            raise RuntimeError("the conversation was not started")
        return await asyncio.wait_for(asyncio.shield(self._task), wait_secs)

    async def hang_up(self, *, wait_secs: float = 30.0) -> CallResult:
        """The callee hangs up (if the call is still on); returns the result."""
        await self.session.user_hung_up()
        return await self.result(wait_secs=wait_secs)

    async def _settle(self, before: int | None, wait_secs: float) -> None:
        assert self._task is not None
        waiter = asyncio.create_task(
            self.session.wait_until_idle(after_requests=before, wait_secs=wait_secs)
        )
        done, _ = await asyncio.wait(
            {waiter, self._task}, timeout=wait_secs, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter not in done:
            waiter.cancel()
        if self._task in done and self._task.exception() is not None:
            raise self._task.exception()  # type: ignore[misc]
