"""A call session's answer to a voicemail: the ``VoicemailListener`` half of ``CallSession``.

The detector (``runtime.voicemail``) or the telephony provider's answering-machine
verdict says a machine answered: the agent stops, then hangs up at once or, with a
``voicemail_message``, says it once the greeting is over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from openrevox.runtime.call_config import CallConfig
from openrevox.runtime.call_log import CallLog, Ending
from openrevox.runtime.pipeline import BuiltPipeline
from openrevox.runtime.result import TranscriptItem
from openrevox.runtime.voicemail import Classification
from openrevox.runtime.voicemail.detector import VoicemailDetector

log = logging.getLogger(__name__)


class SessionVoicemail:
    """Mixin of ``CallSession`` (whose state it reads): what a voicemail does to the call."""

    config: CallConfig
    finish: Callable[..., Awaitable[None]]
    _built: BuiltPipeline | None
    _ending: Ending | None
    _started: asyncio.Event
    _voicemail: VoicemailDetector | None
    _log: CallLog

    async def voicemail_detected(self, classification: Classification) -> None:
        """A voicemail answered: stop listening and stop the agent; with no
        ``voicemail_message``, hang up at once, else wait for the greeting to end."""
        built = self._built
        if self._ending is not None or built is None:
            return
        self._log.voicemail_reason = classification.reason
        if not self.config.voicemail_message:
            await self.finish("agent", "voicemail", interrupt=True)
            return
        await built.stop_listening()
        # Stop the agent (its opening is not for a machine); the message comes later.
        await built.gate.broadcast_interruption()  # type: ignore[no-untyped-call]

    async def machine_answered(self, answered_by: str) -> None:
        """The telephony provider's answering-machine detection says a machine answered
        (Twilio's ``AnsweredBy``: ``machine_start``, or ``machine_end_*`` once the
        greeting is over): the voicemail path, as if the detector had decided it."""
        greeting_over = answered_by.startswith("machine_end")
        await self._started.wait()  # a verdict may come before the pipeline runs
        if self._voicemail is not None:
            await self._voicemail.machine_answered(answered_by, greeting_over=greeting_over)
            return
        await self.voicemail_detected(
            Classification("voicemail", f"answering machine: {answered_by}")
        )
        if self.config.voicemail_message:
            await self.voicemail_greeting_over(answered_by)

    async def voicemail_greeting_over(self, reason: str) -> None:
        """The voicemail records now: say the message (uninterruptible), hang up."""
        log.info("leaving a voicemail message (greeting over: %s)", reason)
        await self.finish(
            "agent", "voicemail", farewell=self.config.voicemail_message, interrupt=True
        )

    def voicemail_heard(self, text: str) -> None:
        self._log.record(TranscriptItem("user", text))
