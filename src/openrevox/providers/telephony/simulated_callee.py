"""The simulated callee: a scripted person who talks with the real agent over text.

The agent is the real runtime (``CallSession`` with the call's assistant snapshot, its
prompt variables and the LLM of the settings) on the ``TextTransport``; the callee
says one line of its script per turn, then hangs up if the agent has not ended first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from openrevox.config import Settings
from openrevox.runtime.result import CallResult
from openrevox.runtime.session import CallSession, session_for
from openrevox.runtime.transports.text import TextConversation, TextTransport

IVR_MENU = (
    "Welcome to the customer line. For sales, press 1. For support, press 2. "
    "To speak with someone, stay on the line."
)
VOICEMAIL_GREETING = (
    "Hi, you have reached my voicemail. Please leave a message after the beep. *beep*"
)


class ScriptedCallee:
    """One simulated person on one call."""

    def __init__(
        self,
        assistant: Mapping[str, Any],
        prompt_variables: Mapping[str, str],
        script: Sequence[str],
        *,
        settings: Settings,
        callee_number: str | None = None,
        from_number: str | None = None,
        turn_timeout_secs: float = 30.0,
    ) -> None:
        self.transport = TextTransport()
        self.session: CallSession = session_for(
            assistant,
            prompt_variables,
            self.transport,
            settings=settings,
            callee_number=callee_number,
            from_number=from_number,
        )
        self.script = list(script)
        self._chat = TextConversation(self.session, self.transport)
        self._timeout = turn_timeout_secs
        self._hung_up = asyncio.Event()

    async def run(self) -> CallResult:
        """Talk through the script; the callee hangs up after its last line."""
        await self._chat.start(wait_secs=self._timeout)
        for line in self.script:
            if self._chat.ended or self._hung_up.is_set():
                break
            await self._chat.say(line, wait_secs=self._timeout)
        if self._chat.ended:
            return await self._chat.result(wait_secs=self._timeout)
        return await self._chat.hang_up(wait_secs=self._timeout)

    async def hang_up(self) -> None:
        """The line is cut from our side (cancel, shutdown): the session stops now."""
        self._hung_up.set()
        await self.session.user_hung_up()
