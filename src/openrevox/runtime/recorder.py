"""Watches the pipeline's frames: speech events per turn, and whether the agent is busy.

An observer sees frames pushed between processors without taking part. This one is
told about each frame once, at its first push (``observe_every_push=False``), and about
every frame a processor starts to process (``on_process_frame``); only the downstream
copy of a broadcast frame counts, so broadcast frames are seen once. Observers are
told through a queue, so the recorder's view lags the pipeline a little but sees
events in order.

**Busy** (the agent is thinking, running a tool, about to speak or speaking) is built
so that one state is set by the same event that ends the previous one, with no gap in
which the agent looks idle while work is still on its way through the pipeline:

    the LLM takes a context -> its reply ends with words: speech owed until that
    reply's end frame reaches the assistant aggregator (spoken by then) | it ends with
    tool calls: tools pending (``FunctionCallsStartedFrame``) until each final result;
    a result that asks for a reply owes an LLM run until the assistant aggregator
    pushes the context back up (waiting until the LLM takes it).

A user turn's context counts when the LLM takes it (a closing call drops it on the
way; whoever sent the turn waits for ``llm_requests`` to grow). The session announces
what it queues itself (``expect_reply`` for a generated opening, ``expect_speech`` for
a static opening or a farewell). An interruption, once it has reached the assistant
aggregator, has flushed what was ahead of it: owed replies, contexts on their way up
and interruptible owed speech are forgotten then (a context that survived the flush
counts again when the LLM takes it).

A realtime model (``realtime=True``) answers when its server decides (the caller
stopped speaking) or when asked: its requests count when a response starts, and the
caller's transcripts come back up from it.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    FunctionCallCancelFrame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    ProposedUserStoppedSpeakingFrame,
    TranscriptionFrame,
    TTSStoppedFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from openrevox.runtime.result import SpeechEvent


class CallRecorder(BaseObserver):
    """Speech events (SDK shape) and the agent's activity, from the frames that pass.

    ``now`` is the session clock (for the inactivity limit); speech-event times are
    wall time in ms since ``start()``. Audio frames mean nothing to it
    (``observes_audio``: the session's worker does not queue them for it).
    """

    observes_audio = False

    def __init__(
        self,
        *,
        llm: FrameProcessor,
        tts: FrameProcessor | None,
        now: Callable[[], float],
        assistant: FrameProcessor | None = None,
        realtime: bool = False,
    ) -> None:
        super().__init__(observe_every_push=False)
        self._llm = llm
        self._realtime = realtime
        self._tts = tts
        self._assistant = assistant  # the assistant aggregator: the end of the line
        self._now = now
        self._ids = itertools.count(1)
        self._origin = time.monotonic()
        self.events: list[SpeechEvent] = []
        self._user: SpeechEvent | None = None
        self._agent: SpeechEvent | None = None
        self._vad_stopped_at: float | None = None
        self._pending_ttft: tuple[float, str | None] | None = None
        self._pending_ttfb: float | None = None
        self._reply_has_text = False
        # Activity (see the module docstring).
        self.llm_requests = 0
        self._contexts_waiting: set[int] = set()  # pushed upstream, not yet taken
        self._llm_running = False
        self._llm_owed = False
        self._tools: set[str] = set()
        self._replies_unspoken: set[int] = set()  # end frames of replies with words
        self._speeches_unspoken: deque[bool] = deque()  # queued speech: interruptible?
        self.bot_speaking = False
        self.user_speaking = False
        self.last_activity = now()

    def start(self) -> None:
        self._origin = time.monotonic()
        self.last_activity = self._now()

    @property
    def llm_in_flight(self) -> bool:
        """A context is on its way to the LLM, the LLM is answering, or a reply is owed."""
        return bool(self._contexts_waiting or self._llm_running or self._llm_owed)

    @property
    def tools_in_flight(self) -> int:
        return len(self._tools)

    @property
    def speech_owed(self) -> bool:
        """Words are on their way to the speaker (a reply or a queued utterance)."""
        return bool(self._replies_unspoken or self._speeches_unspoken)

    @property
    def busy(self) -> bool:
        """The agent is thinking, running a tool, about to speak or speaking."""
        return bool(self.llm_in_flight or self._tools or self.speech_owed or self.bot_speaking)

    def expect_reply(self) -> None:
        """The session asked the LLM to speak (a generated opening): busy until it does."""
        self._llm_owed = True
        self._touch()

    def expect_speech(self, *, interruptible: bool) -> None:
        """The session queued words to say (``TTSSpeakFrame``): busy until said."""
        self._speeches_unspoken.append(interruptible)
        self._touch()

    def idle_for(self) -> float:
        """Seconds (session clock) since anything happened, 0 while someone is active."""
        if self.busy or self.user_speaking:
            return 0.0
        return self._now() - self.last_activity

    def agent_said(self, text: str, *, interrupted: bool) -> None:
        """The assistant aggregator committed ``text``: it is the last agent turn's words."""
        for event in reversed(self.events):
            if event.speaker == "agent":
                if event.transcript is None:
                    event.transcript = text
                    event.was_cut = bool(event.was_cut or interrupted)
                return

    def close(self) -> None:
        """The session ended: speech in progress stays open (``stopped_speaking_at_ms``
        null), as the SDK documents."""
        self._user = self._agent = None

    # ---- frames ----

    async def on_process_frame(self, data: FrameProcessed) -> None:
        frame, processor = data.frame, data.processor
        if processor is self._llm:
            if isinstance(frame, LLMContextFrame):
                if frame.id in self._contexts_waiting:
                    self._contexts_waiting.discard(frame.id)
                elif not self._realtime:
                    self._count_request()  # a user turn (or the opening)
                if not self._realtime:
                    self._llm_running = True
        elif processor is self._assistant and data.direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, LLMFullResponseEndFrame):
                self._replies_unspoken.discard(frame.id)
                self._touch()
            elif isinstance(frame, TTSStoppedFrame):
                if self._speeches_unspoken:
                    self._speeches_unspoken.popleft()
                self._touch()
            elif isinstance(frame, InterruptionFrame):
                self._interrupted()

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if isinstance(frame, LLMContextFrame):
            # A request to the LLM from the assistant aggregator (after a tool result),
            # pushed upstream, first seen on its way. (Those from the user aggregator
            # count when the LLM takes them, as a closing call drops them on the way;
            # the assistant aggregator's downstream push after each turn is no request.)
            if data.direction == FrameDirection.UPSTREAM:
                self._llm_requested(frame)
            return
        if data.direction != FrameDirection.DOWNSTREAM:
            if self._realtime and isinstance(frame, TranscriptionFrame):
                self._transcribed(frame.text)  # the realtime model's, on its way up
            return
        if isinstance(frame, LLMFullResponseStartFrame):
            if data.source is self._llm:
                if self._realtime and not self._llm_running:
                    self._llm_running = True
                    self._count_request()
                self._pending_ttft = None
                self._reply_has_text = False
        elif isinstance(frame, LLMTextFrame):
            if data.source is self._llm and frame.text.strip() and not frame.skip_tts:
                self._reply_has_text = True
        elif isinstance(frame, LLMFullResponseEndFrame):
            if data.source is self._llm:
                self._llm_running = False
                if self._reply_has_text and self._assistant is not None:
                    self._replies_unspoken.add(frame.id)
                if not self._reply_has_text:  # tool calls only: nothing will be said
                    self._pending_ttft = None
                self._reply_has_text = False
                self._touch()
        elif isinstance(frame, FunctionCallsStartedFrame):
            if data.source is self._llm:
                self._tools.update(call.tool_call_id for call in frame.function_calls)
                self._touch()
        elif isinstance(frame, FunctionCallInProgressFrame):
            if data.source is self._llm:
                self._tools.add(frame.tool_call_id)
        elif isinstance(frame, FunctionCallResultFrame):
            final = frame.properties is None or frame.properties.is_final
            if data.source is self._llm and final:
                if _asks_for_reply(frame):
                    self._llm_owed = True
                self._tool_done(frame.tool_call_id)
        elif isinstance(frame, FunctionCallCancelFrame):
            if data.source is self._llm:
                self._tool_done(frame.tool_call_id)
        elif isinstance(frame, MetricsFrame):
            self._metrics(frame)
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._llm_owed = False  # the aggregator waits for the user's turn instead
            self._user_started()
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._vad_stopped_at = self._ms()
        elif isinstance(frame, ProposedUserStoppedSpeakingFrame) and data.source is self._llm:
            self._vad_stopped_at = self._ms()  # a realtime model's server VAD
        elif isinstance(frame, TranscriptionFrame):
            self._transcribed(frame.text)
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._user_stopped()
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_started()
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_stopped()
        elif isinstance(frame, InterruptionFrame) and self._agent is not None:
            self._agent.was_cut = True

    def _interrupted(self) -> None:
        """An interruption reached the end of the pipeline: what was ahead of it has been
        flushed (or delivered), and the aggregator dropped any reply it owed."""
        self._llm_owed = False
        self._replies_unspoken.clear()
        kept = [interruptible for interruptible in self._speeches_unspoken if not interruptible]
        self._speeches_unspoken = deque(kept)
        self._contexts_waiting.clear()
        self._touch()

    def _llm_requested(self, frame: Frame) -> None:
        self._contexts_waiting.add(frame.id)
        self._count_request()

    def _count_request(self) -> None:
        self.llm_requests += 1
        self._llm_owed = False
        self._touch()

    def _tool_done(self, tool_call_id: str) -> None:
        self._tools.discard(tool_call_id)
        self._touch()

    def _touch(self) -> None:
        self.last_activity = self._now()

    def _ms(self) -> float:
        return round((time.monotonic() - self._origin) * 1000, 1)

    def _metrics(self, frame: MetricsFrame) -> None:
        for data in frame.data:
            if not isinstance(data, TTFBMetricsData) or not data.value:
                continue
            if data.processor == self._llm.name:
                self._pending_ttft = (round(data.value * 1000, 1), data.model)
            elif self._tts is not None and data.processor == self._tts.name:
                if self._agent is not None and self._agent.tts_ttfb_ms is None:
                    self._agent.tts_ttfb_ms = round(data.value * 1000, 1)
                else:
                    self._pending_ttfb = round(data.value * 1000, 1)

    def _user_started(self) -> None:
        self.user_speaking = True
        self._touch()
        self._vad_stopped_at = None
        self._user = SpeechEvent(f"se_{next(self._ids)}", "user", self._ms(), was_cut=None)
        self.events.append(self._user)

    def _transcribed(self, text: str) -> None:
        self._touch()
        event = self._user or self._last("user")
        if event is None:
            return
        event.transcript = f"{event.transcript} {text}".strip() if event.transcript else text
        if self._vad_stopped_at is not None and event.stt_transcription_delay_ms is None:
            event.stt_transcription_delay_ms = round(self._ms() - self._vad_stopped_at, 1)

    def _user_stopped(self) -> None:
        self.user_speaking = False
        self._touch()
        if self._user is not None:
            stopped = self._vad_stopped_at if self._vad_stopped_at is not None else self._ms()
            self._user.stopped_speaking_at_ms = stopped
            self._user = None

    def _bot_started(self) -> None:
        self.bot_speaking = True
        self._touch()
        ttft, model = self._pending_ttft or (None, None)
        self._pending_ttft = None
        self._agent = SpeechEvent(
            f"se_{next(self._ids)}",
            "agent",
            self._ms(),
            llm_ttft_ms=ttft,
            llm_winner_model=model,
            tts_ttfb_ms=self._pending_ttfb,
            was_cut=False,
        )
        self._pending_ttfb = None
        self.events.append(self._agent)

    def _bot_stopped(self) -> None:
        self.bot_speaking = False
        self._touch()
        if self._agent is not None:
            self._agent.stopped_speaking_at_ms = self._ms()
            self._agent = None

    def _last(self, speaker: str) -> SpeechEvent | None:
        return next((e for e in reversed(self.events) if e.speaker == speaker), None)


def _asks_for_reply(frame: FunctionCallResultFrame) -> bool:
    """Whether the assistant aggregator runs the LLM on this final result (its rule)."""
    if not frame.result:
        return False
    if frame.properties is not None and frame.properties.run_llm is not None:
        return frame.properties.run_llm
    return frame.run_llm is None or frame.run_llm
