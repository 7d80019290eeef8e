"""``openrevox chat ASSISTANT_ID``: talk with an assistant in the terminal (text transport).

Each line on stdin is what the callee says; each agent utterance and tool call is
printed. The chat ends at end of input (the callee hangs up) or when the agent ends
the call.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from openrevox.cli.common import with_database
from openrevox.config import Settings
from openrevox.errors import OpenrevoxError

if TYPE_CHECKING:  # the runtime (Pipecat) loads only when chatting
    from openrevox.runtime.result import CallResult, TranscriptItem
    from openrevox.storage.database import Database

err = Console(stderr=True)


def chat(
    assistant_id: Annotated[str, typer.Argument(help="Id of the assistant to talk with")],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="A prompt variable, key=value (repeatable)"),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="The callee's phone number (for send_sms)")
    ] = None,
) -> None:
    """Chat with an assistant: stdin lines are the callee, the agent answers."""
    variables = _parse_vars(var or [])
    settings = Settings()
    _quiet_pipecat(settings.log_level)

    from openrevox.runtime.assistant_source import load_assistant_wire

    async def load(db: Database) -> dict[str, Any]:
        async with db.read() as session:
            return await load_assistant_wire(session, assistant_id)

    try:
        assistant = with_database(load)
        result = asyncio.run(_converse(assistant, variables, settings, to))
    except OpenrevoxError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    err.print(f"call ended by {result.ended_by} ({result.end_reason})")
    if result.error:
        err.print(f"[red]{result.error}[/red]")
        raise typer.Exit(1)


async def _converse(
    assistant: dict[str, Any], variables: dict[str, str], settings: Settings, to: str | None
) -> CallResult:
    from openrevox.runtime.session import session_for
    from openrevox.runtime.transports.text import TextConversation, TextTransport

    transport = TextTransport(on_utterance=lambda text: _say("agent", text))
    session = session_for(
        assistant,
        variables,
        transport,
        settings=settings,
        callee_number=to,
        on_transcript=_print_tool,
    )
    conversation = TextConversation(session, transport)
    await conversation.start()
    while not conversation.ended:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return await conversation.hang_up()
        if line.strip():
            await conversation.say(line.strip())
    return await conversation.result()


def _say(who: str, text: str) -> None:
    typer.echo(f"{who}: {text}")


def _print_tool(item: TranscriptItem) -> None:
    if item.role == "tool":
        arguments = json.dumps(item.tool_arguments, ensure_ascii=False)
        marker = " (error)" if item.tool_is_error else ""
        typer.echo(f"tool: {item.tool_name} {arguments} -> {item.tool_output}{marker}")


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not key=value", param_hint="--var")
        values[key.strip()] = value
    return values


def _quiet_pipecat(level: str) -> None:
    """Pipecat logs through loguru at debug level; keep the terminal for the chat."""
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if level.lower() == "debug" else "WARNING")
