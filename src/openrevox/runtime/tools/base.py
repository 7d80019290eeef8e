"""What a tool is (a handler from arguments to a result) and what it may ask of the call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from openrevox.config import Settings
from openrevox.providers.sms.base import SmsProvider
from openrevox.runtime.call_config import CallConfig
from openrevox.runtime.result import EndedBy, EndReason, SentSms, TransferRequest


@dataclass(frozen=True)
class ToolResult:
    """What the LLM reads back (``output``), and what happens next.

    ``run_llm`` says whether the agent answers after the result; ``then`` runs once the
    result is in the conversation (ending or transferring the call, for instance).
    """

    output: Any
    is_error: bool = False
    run_llm: bool = True
    then: Callable[[], Awaitable[None]] | None = None


def error(message: str, **details: Any) -> ToolResult:
    """A failed tool call, told to the LLM so it can say so; the call goes on."""
    return ToolResult({"error": message, **details}, is_error=True)


class ToolContext(Protocol):
    """The call as tools see it: its config, its providers, and the actions they take."""

    config: CallConfig
    settings: Settings
    sms: SmsProvider
    http: httpx.AsyncClient
    callee_number: str | None
    from_number: str | None

    async def finish(
        self, ended_by: EndedBy, reason: EndReason, *, farewell: str | None = None
    ) -> None:
        """End the call: say ``farewell`` (if any), drain, then hang up."""
        ...

    async def transfer(self, request: TransferRequest) -> None:
        """End the agent's part and hand the call to telephony's transfer."""
        ...

    async def send_dtmf(self, digits: str) -> None: ...

    async def summarize(self, instructions: str) -> str:
        """A one-off LLM completion over the conversation so far."""
        ...

    def record_sms(self, sms: SentSms) -> None: ...

    def add_faq_candidate(self, question: str) -> None: ...


ToolHandler = Callable[[Mapping[str, Any], ToolContext], Awaitable[ToolResult]]
