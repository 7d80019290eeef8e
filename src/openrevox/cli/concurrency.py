"""``openrevox concurrency set|list|clear``: server-side limits per concurrency.key."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from openrevox.config import Settings
from openrevox.storage.database import Database
from openrevox.storage.models import utcnow
from openrevox.storage.repositories import dispatch

app = typer.Typer(no_args_is_help=True, help="Limits of calls at once per concurrency.key")


def _db() -> Database:
    """The migrated database of the settings (call it outside the event loop)."""
    from openrevox.storage.migrate import upgrade

    settings = Settings()
    upgrade(settings.database_url)
    return Database(settings.database_url)


@app.command("set")
def set_limit(
    key: Annotated[str, typer.Argument(help="The concurrency.key given on calls")],
    limit: Annotated[int, typer.Argument(min=0, help="Calls at once with this key")],
) -> None:
    """Set (or change) the limit of a key."""

    db = _db()

    async def run() -> None:
        try:
            async with db.write() as session:
                await dispatch.set_key_limit(session, key, limit, utcnow())
        finally:
            await db.dispose()

    asyncio.run(run())
    typer.echo(f"{key}: {limit}")


@app.command("list")
def list_limits() -> None:
    """Every key's limit: the stored ones, then those of the settings they do not override."""

    db = _db()

    async def run() -> dict[str, int]:
        try:
            async with db.read() as session:
                return await dispatch.key_limits(session)
        finally:
            await db.dispose()

    stored = asyncio.run(run())
    for key, limit in sorted(stored.items()):
        typer.echo(f"{key}\t{limit}")
    for key, limit in sorted(Settings().concurrency_key_limits.items()):
        if key not in stored:
            typer.echo(f"{key}\t{limit}\t(setting)")


@app.command("clear")
def clear_limit(key: Annotated[str, typer.Argument(help="The concurrency.key")]) -> None:
    """Remove a key's stored limit (the setting's, if any, applies again)."""

    db = _db()

    async def run() -> bool:
        try:
            async with db.write() as session:
                return await dispatch.clear_key_limit(session, key)
        finally:
            await db.dispose()

    if not asyncio.run(run()):
        typer.echo(f"no stored limit for {key}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{key}: cleared")
