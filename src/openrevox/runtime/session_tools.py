"""The tools' side of a call session: the ``ToolContext`` half of ``CallSession``.

Each configured tool (``runtime.tools``) runs through ``_tool_adapter``, which records
it in the transcript and hands its result to the LLM; the tools act on the call
through the methods here (transfer, keypad, summary, SMS, FAQ candidates).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from pipecat.frames.frames import FunctionCallResultProperties
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import FunctionCallParams

from openrevox.config import Settings
from openrevox.providers.llm.openai_compatible import build_llm_service
from openrevox.providers.llm.router import text_route
from openrevox.runtime.call_config import CallConfig
from openrevox.runtime.call_log import CallLog
from openrevox.runtime.pipeline import BuiltPipeline
from openrevox.runtime.result import SentSms, TranscriptItem, TransferRequest, tool_output_text
from openrevox.runtime.tools.base import ToolContext, ToolHandler, ToolResult
from openrevox.runtime.transport import CallTransport

log = logging.getLogger(__name__)


class SessionTools:
    """Mixin of ``CallSession`` (whose state it reads): what the tools do to the call."""

    config: CallConfig
    settings: Settings
    finish: Callable[..., Awaitable[None]]
    transcript: list[TranscriptItem]
    _built: BuiltPipeline | None
    _log: CallLog
    _transport: CallTransport

    def _tool_adapter(self, name: str, handler: ToolHandler) -> Callable[[FunctionCallParams], Any]:
        context = cast(ToolContext, self)  # the CallSession this mixes into

        async def run(params: FunctionCallParams) -> None:
            arguments = dict(params.arguments)
            try:
                result = await handler(arguments, context)
            except Exception as exc:  # a tool must never crash the call
                log.exception("tool %s failed", name)
                result = ToolResult({"error": f"{type(exc).__name__}: {exc}"}, is_error=True)
            output = tool_output_text(result.output)
            self._log.record(
                TranscriptItem(
                    role="tool",
                    content=output,
                    tool_name=name,
                    tool_arguments=arguments,
                    tool_output=output,
                    tool_is_error=result.is_error,
                )
            )
            await params.result_callback(
                result.output, properties=FunctionCallResultProperties(run_llm=result.run_llm)
            )
            if result.then is not None:
                await result.then()

        return run

    async def transfer(self, request: TransferRequest) -> None:
        self._log.transfer = request
        await self.finish("agent", "transfer")

    async def send_dtmf(self, digits: str) -> None:
        self._log.dtmf.append(digits)
        await self._transport.send_dtmf(digits)

    async def summarize(self, instructions: str) -> str:
        """A one-off completion over the transcript (for warm-transfer briefings)."""
        conversation = "\n".join(
            f"{item.role}: {item.content}" for item in self.transcript if item.role != "tool"
        )
        if self._built is None:
            return conversation
        context = LLMContext(messages=[{"role": "user", "content": conversation or "(silence)"}])
        try:
            llm = self._built.llm
            if self._built.realtime:  # it only converses: a chat model writes the summary
                llm = build_llm_service(
                    text_route(self.config.llm_model, self.settings),
                    timeout_secs=self.settings.llm_timeout_secs,
                    max_retries=self.settings.llm_max_retries,
                )
            summary = await llm.run_inference(context, system_instruction=instructions)
        except Exception as exc:
            log.warning("summary failed: %s", exc)
            summary = None
        return (summary or "").strip() or conversation

    def record_sms(self, sms: SentSms) -> None:
        self._log.sms.append(sms)

    def add_faq_candidate(self, question: str) -> None:
        self._log.add_faq_candidate(question)
