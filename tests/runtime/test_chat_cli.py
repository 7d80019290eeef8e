"""``openrevox chat`` end to end: a migrated SQLite database, stdin lines, a fake LLM."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from openrevox.schemas.assistants import AssistantCreate
from openrevox.services import assistants, auth
from openrevox.services.auth import Principal
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.testing.fake_openai import FakeOpenAI, call, say


async def make_assistant(url: str) -> str:
    await upgrade_async(url)
    db = Database(url)
    try:
        async with db.write() as session:
            issued = await auth.issue_key(
                session, organization_name="acme", email="o@acme.test", country="FR"
            )
            principal = Principal(issued.organization.id, issued.user.id, issued.api_key.id)
            view = await assistants.create(
                session,
                principal,
                AssistantCreate(
                    name="Ava",
                    prompt="You are Ava from Acme, calling {{name}}.",
                    first_sentence_mode="static",
                    first_sentence="Hello {{name}}, this is Ava from Acme.",
                    first_sentence_delay_ms=0,
                    end_of_call_sentence="Goodbye {{name}}!",
                    faq_items=[{"question": "Hours?", "answer": "9 to 5."}],
                ),
            )
            return view.assistant.id
    finally:
        await db.dispose()


def chat(url: str, llm_url: str, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OPENREVOX_DATABASE_URL": url,
        "OPENREVOX_OPENAI_BASE_URL": llm_url,
        "OPENREVOX_OPENAI_API_KEY": "cli-key",
        "OPENREVOX_LLM_MAX_RETRIES": "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "openrevox", "chat", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_chat_until_the_agent_ends_the_call(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    assistant_id = await make_assistant(url)
    with FakeOpenAI(
        [say("We are open 9 to 5."), call("end_call", "Thanks for calling.", reason="done")]
    ) as llm:
        done = await asyncio.to_thread(
            chat,
            url,
            llm.base_url,
            assistant_id,
            "--var",
            "name=Ann",
            stdin="When are you open?\nGreat, bye!\nthis line is never read\n",
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "agent: Hello Ann, this is Ava from Acme.",
            "agent: We are open 9 to 5.",
            "agent: Thanks for calling.",
            'tool: end_call {"reason": "done"} -> {"status": "ending the call"}',
            "agent: Goodbye Ann!",
        ] or done.stdout.splitlines() == [
            "agent: Hello Ann, this is Ava from Acme.",
            "agent: We are open 9 to 5.",
            'tool: end_call {"reason": "done"} -> {"status": "ending the call"}',
            "agent: Thanks for calling.",
            "agent: Goodbye Ann!",
        ]
        assert "call ended by agent (tool_end_call)" in done.stderr
        assert len(llm.requests) == 2
        first = llm.requests[0]
        assert first.headers["authorization"] == "Bearer cli-key"
        assert "calling Ann" in first.system_prompt and "Q: Hours?" in first.system_prompt
        assert first.messages[-1] == {"role": "user", "content": "When are you open?"}


async def test_chat_ends_at_end_of_input_and_refuses_missing_variables(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    assistant_id = await make_assistant(url)
    with FakeOpenAI([say("Sure.")]) as llm:
        done = await asyncio.to_thread(
            chat, url, llm.base_url, assistant_id, "--var", "name=Bo", stdin="Hi\n"
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "agent: Hello Bo, this is Ava from Acme.",
            "agent: Sure.",
        ]
        assert "call ended by user (user_hangup)" in done.stderr

        refused = await asyncio.to_thread(chat, url, llm.base_url, assistant_id, stdin="")
        assert refused.returncode == 2
        assert "prompt_variables: missing name" in refused.stderr
        unknown = await asyncio.to_thread(chat, url, llm.base_url, "nope", stdin="")
        assert unknown.returncode == 2 and "no assistant with id 'nope'" in unknown.stderr
