"""A call session: one conversation, run on a Pipecat pipeline behind this interface.

    session = CallSession(config, transport, settings=settings)
    result = await session.run()          # until the call ends; never raises for the call

The session opens the call (first sentence), offers the configured tools, enforces
the limits, detects a voicemail (``runtime.voicemail``), records the transcript and
speech events, and ends with a ``CallResult``. Its notes and that result are
``runtime.call_log``; what a voicemail does to the call is ``runtime.session_voicemail``,
what the tools do ``runtime.session_tools``.
Ending goes through ``finish``: say the closing words, drain the pipeline, then ask the
transport to hang up (or to transfer). The callee hanging up is ``user_hung_up``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import httpx
from pipecat.frames.frames import (
    EndWorkerFrame,
    ErrorFrame,
    LLMRunFrame,
    TTSSpeakFrame,
)
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_response_universal import (
    AssistantTurnStoppedMessage,
    UserTurnMessageAddedMessage,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.workers.runner import WorkerRunner

from openrevox.config import Settings
from openrevox.providers.llm.base import LlmError, LlmRoute, LlmUnsupported
from openrevox.providers.llm.openai_compatible import build_llm_service, translate_error
from openrevox.providers.llm.realtime import build_realtime_llm
from openrevox.providers.llm.router import resolve_route
from openrevox.providers.sms.base import SmsProvider
from openrevox.providers.sms.factory import sms_provider_for
from openrevox.runtime.call_config import CallConfig, resolve_call_config
from openrevox.runtime.call_log import CallLog, Ending, TranscriptListener
from openrevox.runtime.clock import Clock, SystemClock
from openrevox.runtime.pipeline import AudioLegs, BuiltPipeline, build_pipeline
from openrevox.runtime.quiet_observer import QuietAudioObserver
from openrevox.runtime.recorder import CallRecorder
from openrevox.runtime.result import (
    CallResult,
    EndedBy,
    EndReason,
    TranscriptItem,
)
from openrevox.runtime.session_tools import SessionTools
from openrevox.runtime.session_voicemail import SessionVoicemail
from openrevox.runtime.tools import handlers_for
from openrevox.runtime.transport import CallTransport
from openrevox.runtime.voicemail import VoicemailParams
from openrevox.runtime.voicemail.detector import VoicemailDetector

log = logging.getLogger(__name__)

DEFAULT_VOICEMAIL = VoicemailParams()


class CallSession(SessionTools, SessionVoicemail):
    """One call's conversation. Also the ``ToolContext`` its tools act through, and the
    ``VoicemailListener`` of its voicemail detection (``voicemail=None`` turns it off)."""

    def __init__(
        self,
        config: CallConfig,
        transport: CallTransport,
        *,
        settings: Settings | None = None,
        route: LlmRoute | None = None,
        sms: SmsProvider | None = None,
        http: httpx.AsyncClient | None = None,
        audio: AudioLegs | None = None,
        clock: Clock | None = None,
        callee_number: str | None = None,
        from_number: str | None = None,
        on_transcript: TranscriptListener | None = None,
        voicemail: VoicemailParams | None = DEFAULT_VOICEMAIL,
    ) -> None:
        self.config = config
        self.settings = settings or Settings()
        self.callee_number = callee_number
        self.from_number = from_number or config.assistant.get("from_phone_number")
        self._transport = transport
        self._route = route
        self._given_http = http
        self.http = http or httpx.AsyncClient()
        self.sms = sms or sms_provider_for(self.settings, self.http)
        self._audio = audio
        self._clock = clock or SystemClock()
        self._log = CallLog(on_transcript)
        self.transcript = self._log.transcript
        self._ending: Ending | None = None
        self._opening_done = asyncio.Event()
        self._finished = asyncio.Event()
        self._started = asyncio.Event()
        self._built: BuiltPipeline | None = None
        self._worker: PipelineWorker | None = None
        self._recorder: CallRecorder | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._voicemail_params = voicemail
        self._voicemail: VoicemailDetector | None = None

    # ---- running ----

    async def run(self) -> CallResult:
        """Run the call to its end and return what happened. Errors end the call."""
        started_at = self._clock.now()
        try:
            route = self._route or resolve_route(self.config.llm_model, self.settings)
            self._route = route
            llm = self._build_llm(route)
        except LlmError as exc:
            self._ending = ("system", "error", exc.message)
            self._finished.set()
            return self._result(started_at)
        try:
            await self._run_pipeline(llm)
            await self._leave_call()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._given_http is None:
                await self.http.aclose()
            self._finished.set()
        return self._result(started_at)

    def _build_llm(self, route: LlmRoute) -> LLMService[Any]:
        if route.kind != "realtime":
            return build_llm_service(
                route,
                system_instruction=self.config.system_prompt,
                timeout_secs=self.settings.llm_timeout_secs,
                max_retries=self.settings.llm_max_retries,
            )
        audio = self._audio
        if audio is not None and not audio.speech_to_speech:
            raise LlmUnsupported(
                f"{route.describe()} hears and speaks itself: the call's audio was set up "
                "for speech-to-text and text-to-speech"
            )
        return build_realtime_llm(
            route,
            system_instruction=self.config.system_prompt,
            hears_audio=audio is not None,
            transcription_model=self.settings.openai_realtime_transcription_model,
            transcription_terms=self.config.stt_terms,
        )

    async def _run_pipeline(self, llm: LLMService[Any]) -> None:
        audio = self._audio or AudioLegs()
        if self._voicemail_params is not None:
            self._voicemail = VoicemailDetector(
                self._voicemail_params,
                clock=self._clock,
                listener=self,
                transcripts_from=(
                    FrameDirection.UPSTREAM if audio.speech_to_speech else FrameDirection.DOWNSTREAM
                ),
            )
        built = build_pipeline(
            self.config,
            input_processors=self._transport.input_processors(),
            output_processors=self._transport.output_processors(),
            llm=llm,
            audio=audio,
            listeners=[self._voicemail] if self._voicemail is not None else [],
        )
        self._built = built
        for name, handler in handlers_for(self.config).items():
            llm.register_function(name, self._tool_adapter(name, handler))
        recorder = CallRecorder(
            llm=llm,
            tts=audio.tts,
            assistant=built.assistant,
            now=self._clock.now,
            realtime=built.realtime,
        )
        self._recorder = recorder
        params = PipelineParams(enable_metrics=True)
        if audio.audio_in_sample_rate:
            params.audio_in_sample_rate = audio.audio_in_sample_rate
        if audio.audio_out_sample_rate:
            params.audio_out_sample_rate = audio.audio_out_sample_rate
        worker = PipelineWorker(
            built.pipeline,
            params=params,
            observers=[recorder],
            idle_timeout_secs=None,
            cancel_on_idle_timeout=False,
            enable_rtvi=False,
            enable_turn_tracking=False,  # nothing reads Pipecat's turn tracking
        )
        # The worker tells its observers about every frame each processor takes and
        # pushes, through a queue and a task per observer; the recorder ignores audio,
        # most of those frames: they are not queued for it (docs/runtime.md). The
        # worker's own proxy is swapped (Pipecat 1.14 has no hook for it), same observers.
        worker._observer = QuietAudioObserver(observers=worker._observer._observers)
        self._worker = worker
        self._wire_events(worker, built)
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()
        recorder.close()

    def _wire_events(self, worker: PipelineWorker, built: BuiltPipeline) -> None:
        async def started(_worker: PipelineWorker, _frame: Any) -> None:
            assert self._recorder is not None
            self._recorder.start()
            self._started.set()
            self._tasks += [
                asyncio.create_task(self._open()),
                asyncio.create_task(self._watch_duration()),
                asyncio.create_task(self._watch_inactivity()),
            ]

        async def failed(_worker: PipelineWorker, frame: ErrorFrame) -> None:
            await self._on_error(frame)

        async def user_said(_agg: Any, message: UserTurnMessageAddedMessage) -> None:
            if message.content.strip():
                self._log.record(TranscriptItem("user", message.content.strip()))

        async def agent_said(_agg: Any, message: AssistantTurnStoppedMessage) -> None:
            text = message.content.strip()
            if text:
                self._log.record(TranscriptItem("assistant", text))
                assert self._recorder is not None
                self._recorder.agent_said(text, interrupted=message.interrupted)

        worker.add_event_handler("on_pipeline_started", started)
        worker.add_event_handler("on_pipeline_error", failed)
        built.user.add_event_handler("on_user_turn_message_added", user_said)
        built.assistant.add_event_handler("on_assistant_turn_stopped", agent_said)

    async def _leave_call(self) -> None:
        """After the pipeline drained: hand the call over, or hang up (unless the callee
        already did)."""
        ending = self._ending or ("system", "error", "the call pipeline stopped unexpectedly")
        self._ending = ending
        reason = ending[1]
        try:
            if reason == "user_hangup":
                return
            if reason == "transfer" and self._log.transfer is not None:
                await self._transport.transfer(self._log.transfer)
            else:
                await self._transport.hangup()
        except Exception as exc:  # telephony failed; the conversation is over anyway
            log.exception("leaving the call failed")
            if ending[2] is None:
                self._ending = (ending[0], ending[1], f"hang-up failed: {exc}")

    def _result(self, started_at: float) -> CallResult:
        return self._log.result(
            self._ending,
            duration_secs=round(self._clock.now() - started_at, 3),
            speech_events=self._recorder.events if self._recorder else (),
            engines=self._audio.engines if self._audio else None,
        )

    # ---- opening and limits ----

    async def _open(self) -> None:
        first = self.config.first_sentence
        try:
            if first.mode == "none":
                return
            await self._clock.sleep(first.delay_secs)
            if self._ending is not None or self._worker is None:
                return
            if self._built is not None and self._built.gate.closed:
                return  # a voicemail answered during the delay: no opening for it
            assert self._recorder is not None
            if first.mode == "static" and first.text:
                self._recorder.expect_speech(interruptible=True)
                await self._worker.queue_frame(TTSSpeakFrame(first.text))
            else:
                self._recorder.expect_reply()
                await self._worker.queue_frame(LLMRunFrame())
        finally:
            self._opening_done.set()

    async def _watch_duration(self) -> None:
        await self._clock.sleep(self.config.limits.max_duration_secs)
        await self.finish(
            "system",
            "max_duration",
            farewell=self.config.limits.max_duration_end_message,
            interrupt=True,
        )

    async def _watch_inactivity(self) -> None:
        limit = self.config.limits.user_inactivity_secs
        if limit <= 0:
            return
        await self._opening_done.wait()
        while self._ending is None:
            assert self._recorder is not None
            idle = self._recorder.idle_for()
            if idle >= limit:
                await self.finish("agent", "user_inactive")
                return
            await self._clock.sleep(min(limit - idle, limit / 4))

    async def _on_error(self, frame: ErrorFrame) -> None:
        built = self._built
        audio = self._audio or AudioLegs()
        if built is None or frame.processor not in (built.llm, audio.stt, audio.tts):
            log.warning("pipeline error (call goes on): %s", frame.error)
            return
        if frame.processor is built.llm and self._route is not None:
            message = translate_error(frame.exception, self._route, frame.error).message
        else:
            message = f"{type(frame.processor).__name__}: {frame.error}"
        await self.finish("system", "error", error=message)

    # ---- ending ----

    async def finish(
        self,
        ended_by: EndedBy,
        reason: EndReason,
        *,
        farewell: str | None = None,
        interrupt: bool = False,
        error: str | None = None,
    ) -> None:
        """End the call (first caller wins): stop listening, say ``farewell``
        uninterruptibly, drain the pipeline; then the transport hangs up."""
        if self._ending is not None:
            return
        self._ending = (ended_by, reason, error)
        built, worker = self._built, self._worker
        if built is None or worker is None:
            return
        await built.stop_listening()
        # The farewell must reach every processor after the interruption: pushed after
        # it from the same processor, it stays behind it all the way down (a processor
        # handles its input in order, system frames first). Queued independently (the
        # worker's interruption starts at the pipeline's head), it could overtake it:
        # the TTS would open the farewell's turn in the assistant aggregator before the
        # interruption closed and reset it, and its words would never be recorded.
        # A realtime model says the farewell itself: it goes through it.
        origin: FrameProcessor = built.llm
        if interrupt or built.realtime:
            origin = built.gate
        if interrupt:
            await built.gate.broadcast_interruption()  # type: ignore[no-untyped-call]
        if farewell:
            speak = TTSSpeakFrame(farewell)
            speak.interruptible = False
            if self._recorder is not None:
                self._recorder.expect_speech(interruptible=False)
            await origin.push_frame(speak)
        await origin.push_frame(EndWorkerFrame(reason=reason), FrameDirection.UPSTREAM)

    async def user_hung_up(self) -> None:
        """The callee hung up: stop at once (nothing more can be heard)."""
        if self._ending is None:
            self._ending = ("user", "user_hangup", None)
        if self._worker is not None and self._started.is_set():
            await self._worker.cancel(reason="user_hangup")

    @property
    def ended(self) -> bool:
        return self._ending is not None

    async def wait_finished(self) -> None:
        await self._finished.wait()

    async def wait_until_idle(
        self, *, after_requests: int | None = None, quiet: float = 0.05, wait_secs: float = 30.0
    ) -> None:
        """Wait for the agent to be done: opened, not thinking, running a tool or
        speaking, for ``quiet`` seconds. With ``after_requests``, first wait for the LLM
        to have been asked more than that many times (the reply to a new turn)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_secs
        calm_since: float | None = None
        while loop.time() < deadline and not self._finished.is_set():
            recorder = self._recorder
            ready = (
                recorder is not None
                and self._started.is_set()
                and self._opening_done.is_set()
                and not recorder.busy
                and (
                    after_requests is None
                    or recorder.llm_requests > after_requests
                    or self._ending is not None  # closing: no reply will come
                )
            )
            if not ready:
                calm_since = None
            elif calm_since is None:
                calm_since = loop.time()
            elif loop.time() - calm_since >= quiet:
                return
            await asyncio.sleep(0.01)

    @property
    def llm_requests(self) -> int:
        return self._recorder.llm_requests if self._recorder else 0


def session_for(
    assistant: Mapping[str, Any],
    prompt_variables: Mapping[str, object],
    transport: CallTransport,
    *,
    settings: Settings,
    **kwargs: Any,
) -> CallSession:
    """A session for an assistant wire dict; raises ``MissingPromptVariables`` first."""
    config = resolve_call_config(
        assistant, prompt_variables, user_inactivity_secs=settings.user_inactivity_timeout_secs
    )
    return CallSession(config, transport, settings=settings, **kwargs)
