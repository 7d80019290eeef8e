"""The seam between a call session and the call's media and telephony.

A transport gives the session Pipecat processors for its legs (text lines in and out,
or audio from a media stream) and carries out what the agent decides for the phone
call: hang up, transfer to a human, press keypad keys. The session never hangs up as
a side effect: it calls ``hangup`` once the pipeline has drained.
"""

from __future__ import annotations

from typing import Protocol

from pipecat.processors.frame_processor import FrameProcessor

from openrevox.runtime.result import TransferRequest


class CallTransport(Protocol):
    """A call's media legs and telephony actions."""

    name: str

    def input_processors(self) -> list[FrameProcessor]:
        """Processors at the head of the pipeline (the callee's side coming in)."""
        ...

    def output_processors(self) -> list[FrameProcessor]:
        """Processors after the LLM (and TTS): the agent's side going out."""
        ...

    async def hangup(self) -> None:
        """End the phone call (the session has finished speaking)."""
        ...

    async def transfer(self, request: TransferRequest) -> None:
        """Hand the call to a human (cold or warm, with the briefing summary)."""
        ...

    async def send_dtmf(self, digits: str) -> None:
        """Press keypad keys on the call."""
        ...
