"""Realtime (speech-to-speech) models: Pipecat's OpenAI Realtime service, fitted to a call.

``RealtimeLLM`` is Pipecat's ``OpenAIRealtimeLLMService`` with what a call session
needs on top (docs/runtime.md, "Realtime models"):

- **The call's context from the start** (``attach``): tools and function calls have
  it before the first response, and an opening of ``none`` or ``static`` runs no
  response. The session's conversation lives on the server; the context only mirrors
  it, so nothing is replayed.
- **Turns.** On audio the server hears the caller (its VAD ends turns and answers).
  On text each line reaches the model as a user item. A downstream context frame with
  no new user message asks for a response (the generated opening).
- **Fixed words** (static first sentence, end-of-call sentence, max-duration and
  voicemail messages; a ``TTSSpeakFrame`` in the cascade). On text they are printed
  exactly and given to the model as its own words. A speech-to-speech model has no
  text-to-speech entry, so on audio the model is asked to say them word for word, in
  its own voice; the transcript keeps what it actually said. The call ends only once
  such words are said.
- **Stopping.** An interruption cancels the response (the server does so itself only
  for the caller's speech), and what it sent before the cancel reached it is dropped;
  ``stop_listening`` has the server stop answering the caller (its VAD still runs).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any, Literal

from pipecat.frames.frames import (
    EndFrame,
    Frame,
    LLMFullResponseStartFrame,
    TTSSpeakFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext, standard_message_text
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService
from pipecat.services.openai.realtime import events
from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService

from openrevox.providers.llm.base import LlmRoute

# The longest a call waits, once it is over, for the model to say its closing words.
CLOSING_WORDS_SECS = 15.0


def say_exactly(text: str) -> str:
    """A response's instructions that make the model say ``text`` and nothing else."""
    return (
        "Say exactly the following words, word for word, in your usual voice, and "
        f"nothing before or after them:\n{text}"
    )


class RealtimeLLM(OpenAIRealtimeLLMService):
    """OpenAI's Realtime API for one call (see the module docstring)."""

    def __init__(self, *, hears_audio: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hears_audio = hears_audio
        self._seen = 0  # context messages already reflected in the server's conversation
        self._words: deque[str] = deque()  # fixed words waiting for the response to end
        self._saying = False  # a response saying fixed words is running
        self._said = asyncio.Event()
        self._said.set()
        self._response_id: str | None = None  # the latest response the server created
        self._cancelled: set[str] = set()  # responses cancelled by an interruption
        self._deaf = False  # stop_listening() was called
        self._failed = False  # the API answered an error: the session is over

    def attach(self, context: LLMContext) -> None:
        """Use the call's context from the start (before the pipeline runs)."""
        self._context = context
        self._seen = len(context.get_messages())
        self._llm_needs_conversation_setup = False

    async def stop_listening(self) -> None:
        """Answer the caller no more (the call is ending, or reached a voicemail).

        The caller's audio still goes to the server, whose VAD still says when they
        speak (voicemail detection waits for the greeting's end on it); it no longer
        starts or interrupts a response there (``create_response`` and
        ``interrupt_response`` off in every session update from now on)."""
        if not self._deaf:
            self._deaf = True
            await self._send_session_update()  # type: ignore[no-untyped-call]

    async def send_client_event(self, event: events.ClientEvent) -> None:
        message = event.model_dump(exclude_none=True)
        if self._deaf and isinstance(event, events.SessionUpdateEvent):
            turns = message["session"].get("audio", {}).get("input", {}).get("turn_detection")
            if isinstance(turns, dict):  # Pipecat's model has no fields for these
                turns.update(create_response=False, interrupt_response=False)
        await self._ws_send(message)  # type: ignore[no-untyped-call]

    # ---- frames ----

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, TTSSpeakFrame) and direction == FrameDirection.DOWNSTREAM:
            if not self.hears_audio:
                await self._send_item("assistant", frame.text)
                await super().process_frame(frame, direction)  # the text output prints it
                return
            await LLMService.process_frame(self, frame, direction)  # not passed on
            self._words.append(frame.text)
            self._said.clear()
            await self._maybe_say_next()
            return
        if isinstance(frame, EndFrame) and self._can_speak() and not self._said.is_set():
            with contextlib.suppress(TimeoutError):  # the closing words are being said
                await asyncio.wait_for(self._said.wait(), CLOSING_WORDS_SECS)
        await super().process_frame(frame, direction)

    def _can_speak(self) -> bool:
        """The session is up: words asked for will be said (else nobody waits for them)."""
        return self._api_session_ready and not self._failed

    async def _maybe_say_next(self) -> None:
        if self._words and self._api_session_ready and not self._response_active:
            await self._say_next()

    async def _say_next(self) -> None:
        text = self._words.popleft()
        self._saying = True
        self._response_active = True
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_processing_metrics()
        await self.start_ttfb_metrics()
        await self.send_client_event(
            events.ResponseCreateEvent(
                response=events.ResponseProperties(
                    output_modalities=self._get_enabled_modalities(),
                    instructions=say_exactly(text),
                    tool_choice="none",
                )
            )
        )

    async def _handle_context(self, context: LLMContext, direction: FrameDirection) -> None:
        if direction == FrameDirection.UPSTREAM:  # a tool result asks for a reply
            await super()._handle_context(context, direction)
            return
        self._context = context
        messages = context.get_messages()
        new, self._seen = messages[min(self._seen, len(messages)) :], len(messages)
        said = [standard_message_text(m) for m in new if _role(m) == "user"]
        await self._process_completed_function_calls(send_new_results=True)
        if said and self.hears_audio:
            return  # the server heard it: these are its own transcripts, answered already
        for text in said:
            if text:
                await self._send_item("user", text)
        await self._create_response()

    async def _send_item(self, role: Literal["user", "assistant"], text: str) -> None:
        kind = "output_text" if role == "assistant" else "input_text"
        item = events.ConversationItem(
            type="message",
            role=role,
            content=[events.ItemContent(type=kind, text=text)],
        )
        self._messages_added_manually[item.id] = True  # no response of the model's
        await self.send_client_event(events.ConversationItemCreateEvent(item=item))

    # ---- server events ----

    async def _handle_interruption(self) -> None:
        if self._response_active:  # the server cancels on the caller's speech, not on ours
            await self.send_client_event(events.ResponseCancelEvent())
            if self._response_id is not None:
                self._cancelled.add(self._response_id)
        await super()._handle_interruption()  # type: ignore[no-untyped-call]

    async def _handle_evt_response_created(self, evt: Any) -> None:
        self._response_id = evt.response.id
        await super()._handle_evt_response_created(evt)  # type: ignore[no-untyped-call]

    # What a cancelled response sent before the server heard of the cancel is dropped:
    # it would be played after the interruption.

    async def _handle_evt_audio_delta(self, evt: Any) -> None:
        if evt.response_id not in self._cancelled:
            await super()._handle_evt_audio_delta(evt)  # type: ignore[no-untyped-call]

    async def _handle_evt_audio_transcript_delta(self, evt: Any) -> None:
        if evt.response_id not in self._cancelled:
            await super()._handle_evt_audio_transcript_delta(evt)  # type: ignore[no-untyped-call]

    async def _handle_evt_text_delta(self, evt: Any) -> None:
        if evt.response_id not in self._cancelled:
            await super()._handle_evt_text_delta(evt)  # type: ignore[no-untyped-call]

    async def _handle_evt_session_updated(self, evt: Any) -> None:
        await super()._handle_evt_session_updated(evt)  # type: ignore[no-untyped-call]
        await self._maybe_say_next()

    async def _handle_evt_response_done(self, evt: Any) -> None:
        self._saying = False
        await super()._handle_evt_response_done(evt)
        await self._maybe_say_next()
        if not self._words and not self._saying:
            self._said.set()

    async def _handle_evt_error(self, evt: Any) -> None:
        # Fatal to the session (Pipecat stops reading it): words waiting will not be said.
        self._failed = True
        self._words.clear()
        self._saying = False
        self._said.set()
        error = evt.error
        await self.push_error(
            error_msg=f"the Realtime API answered an error ({error.code or error.type}), "
            f"{error.message}"
        )

    async def _disconnect(self) -> None:
        await super()._disconnect()  # type: ignore[no-untyped-call]
        self._words.clear()
        self._saying = False
        self._said.set()


def _role(message: Any) -> str | None:
    return message.get("role") if isinstance(message, dict) else None


def build_realtime_llm(
    route: LlmRoute,
    *,
    system_instruction: str | None,
    hears_audio: bool,
    transcription_model: str,
    transcription_terms: tuple[str, ...] = (),
) -> RealtimeLLM:
    """The realtime service for ``route``: audio in and out on a call (the caller
    transcribed for the record), text in and out on the text transport."""
    transcription = events.InputAudioTranscription(
        model=transcription_model,
        prompt=", ".join(transcription_terms) or None,
    )
    properties = events.SessionProperties(
        output_modalities=["audio" if hears_audio else "text"],
        audio=events.AudioConfiguration(
            input=events.AudioInput(
                transcription=transcription, turn_detection=events.TurnDetection()
            ),
            output=events.AudioOutput(voice=route.voice),
        ),
    )
    return RealtimeLLM(
        hears_audio=hears_audio,
        api_key=route.api_key,
        base_url=route.base_url,
        settings=RealtimeLLM.Settings(
            model=route.model,
            system_instruction=system_instruction,
            session_properties=properties,
        ),
    )
