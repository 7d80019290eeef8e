"""A served openrevox app on a migrated SQLite database, a fake Twilio, a fake LLM.

The app runs with uvicorn in a thread (its own event loop and database engine, as a
separate web process would); the tests dial from their own loop through
``TwilioTelephony``, which meets the app only through the database and Twilio.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import uvicorn

from openrevox.app import create_app
from openrevox.config import Settings
from openrevox.providers.telephony.base import DialRequest
from openrevox.providers.telephony.twilio import TwilioTelephony
from openrevox.services import auth
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.storage.models import Call, CallAttempt, utcnow
from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, ReplyLike
from openrevox.testing.fake_twilio import FakeTwilio
from openrevox.testing.server import free_port

ASSISTANT: dict[str, Any] = {
    "id": "asst-twilio",
    "name": "Ava",
    "prompt": "You are Ava from the dental clinic.",
    "first_sentence_mode": "static",
    "first_sentence": "Hello, I am calling about your appointment for tomorrow morning.",
    "first_sentence_delay_ms": 0,
}
FROM_NUMBER = "+15005550006"


@dataclass
class Stack:
    settings: Settings
    twilio: FakeTwilio
    llm: FakeOpenAI
    base_url: str
    db: Database
    key: str
    other_key: str
    organization_id: str
    # What the fake LLM answers when the callee has spoken (set per test).
    replies: dict[str, ReplyLike] = field(default_factory=dict)

    def provider(self, **overrides: Any) -> TwilioTelephony:
        return TwilioTelephony(self.settings.model_copy(update=overrides), self.db)


@dataclass
class Progress:
    """Records what the provider reports and, like the dispatcher, writes it to the row
    (possibly after the callbacks wrote more: the provider must not be confused)."""

    db: Database | None = None
    attempt_id: str = ""
    rang: list[str | None] = field(default_factory=list)
    answered_at: list[datetime] = field(default_factory=list)

    async def ringing(self, provider_call_id: str | None) -> None:
        self.rang.append(provider_call_id)
        await self._write(status="ringing", started_at=utcnow())

    async def answered(self, at: datetime) -> None:
        self.answered_at.append(at)
        await self._write(status="ongoing", answered_at=at)

    async def _write(self, **values: Any) -> None:
        if self.db is None:
            return
        async with self.db.write() as session:
            row = await session.get(CallAttempt, self.attempt_id)
            assert row is not None
            for name, value in values.items():
                setattr(row, name, value)


@contextmanager
def _serve(app: Any, port: int) -> Iterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="openrevox-telephony", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    folder = tmp_path_factory.mktemp("telephony")
    database_url = f"sqlite+aiosqlite:///{folder / 'openrevox.db'}"
    await upgrade_async(database_url)
    port = free_port()
    replies: dict[str, ReplyLike] = {}

    def answer(request: FakeRequest) -> ReplyLike:
        # "system:<words>": the reply to a request whose system prompt has those words.
        for key, reply in replies.items():
            if key.startswith("system:") and key[len("system:") :] in request.system_prompt:
                return reply
        messages = request.body.get("messages") or [{}]
        if messages[-1].get("role") == "user":
            return replies.get("after_user", "Okay.")
        return "Okay."

    with FakeOpenAI(handler=answer) as llm, FakeTwilio() as twilio:
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            public_base_url=f"http://127.0.0.1:{port}",
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_api_base_url=twilio.base_url,
            twilio_from_number=FROM_NUMBER,
            twilio_poll_interval_secs=0.05,
            twilio_media_wait_secs=20,
            openai_base_url=llm.base_url,
            openai_api_key="test-key",
            llm_max_retries=0,
            user_inactivity_timeout_secs=0,
            cartesia_api_key=None,
            elevenlabs_api_key=None,
            gradium_api_key=None,
            soniox_api_key=None,
            deepgram_api_key=None,
            local_speech_fallback=True,
            recordings_dir=folder / "recordings",
        )
        db = Database(database_url)
        async with db.write() as session:
            key = await auth.issue_key(
                session, organization_name="acme", email="owner@acme.test", country="US"
            )
            other = await auth.issue_key(
                session, organization_name="globex", email="owner@globex.test", country="US"
            )
        with _serve(create_app(settings), port):
            yield Stack(
                settings,
                twilio,
                llm,
                f"http://127.0.0.1:{port}",
                db,
                key.key,
                other.key,
                key.organization.id,
                replies,
            )
        await db.dispose()


async def new_attempt(
    stack: Stack, to_number: str, assistant: dict[str, Any] | None = None
) -> DialRequest:
    """A call order and its first attempt, as the dispatcher leaves them before dialling."""
    snapshot = {**ASSISTANT, **(assistant or {})}
    now = utcnow()
    async with stack.db.write() as session:
        call = Call(
            organization_id=stack.organization_id,
            assistant_snapshot=snapshot,
            prompt_variables={},
            metadata_={},
            to_phone_number=to_number,
            status="calling",
            scheduled_at=now,
        )
        session.add(call)
        await session.flush()
        attempt = CallAttempt(
            call_id=call.id, attempt_number=1, phone_number=to_number, status="queued"
        )
        session.add(attempt)
        await session.flush()
        attempt_id, call_id = attempt.id, call.id
    return DialRequest(
        attempt_id=attempt_id,
        call_id=call_id,
        organization_id=stack.organization_id,
        to_number=to_number,
        from_number=None,
        assistant=snapshot,
        prompt_variables={},
    )


async def attempt_row(stack: Stack, attempt_id: str) -> CallAttempt:
    async with stack.db.read() as session:
        row = await session.get(CallAttempt, attempt_id)
        assert row is not None
        return row
