"""Runtime tests: sessions over the text transport against a fake OpenAI server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from loguru import logger

from openrevox.config import Settings
from openrevox.providers.sms.local import LoggingSmsProvider
from openrevox.runtime.call_config import resolve_call_config
from openrevox.runtime.clock import Clock
from openrevox.runtime.session import CallSession
from openrevox.runtime.transports.text import TextConversation, TextTransport
from openrevox.testing.fake_openai import FakeOpenAI

logger.remove()
logger.add(sys.stderr, level="WARNING")

CALLEE = "+33612345678"
ASSISTANT: dict[str, Any] = {
    "id": "asst-1",
    "prompt": "You are Ava from Acme. You are calling {{name}} about their order.",
    "first_sentence_mode": "generated",
    "first_sentence": "Greet {{name}} and ask if now is a good time.",
    "first_sentence_delay_ms": 0,
}


@dataclass
class Call:
    chat: TextConversation
    session: CallSession
    transport: TextTransport
    llm: FakeOpenAI
    sms: LoggingSmsProvider


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def settings_for(llm: FakeOpenAI, **overrides: Any) -> Settings:
    return Settings(
        openai_base_url=llm.base_url,
        openai_api_key="test-key",
        llm_max_retries=0,
        user_inactivity_timeout_secs=0,
        **overrides,
    )


@asynccontextmanager
async def call(
    llm: FakeOpenAI,
    *,
    variables: dict[str, str] | None = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    user_inactivity_secs: float = 0,
    **assistant: Any,
) -> AsyncIterator[Call]:
    """A started text call; hung up (if still on) when the block ends."""
    config = resolve_call_config(
        {**ASSISTANT, **assistant},
        {"name": "Ann"} if variables is None else variables,
        user_inactivity_secs=user_inactivity_secs,
    )
    transport = TextTransport()
    sms = LoggingSmsProvider()
    session = CallSession(
        config,
        transport,
        settings=settings or settings_for(llm),
        sms=sms,
        clock=clock,
        callee_number=CALLEE,
    )
    chat = TextConversation(session, transport)
    try:
        yield Call(chat, session, transport, llm, sms)
    finally:
        if chat._task is not None and not chat._task.done():
            await chat.hang_up(wait_secs=10)
