"""``openrevox serve | migrate | keys ...``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from openrevox.cli import chat, concurrency, keys, numbers, webhooks, worker
from openrevox.config import Settings

app = typer.Typer(no_args_is_help=True, help="openrevox: self-hosted Revox-compatible voice agents")
app.add_typer(keys.app, name="keys")
app.command("chat")(chat.chat)
app.add_typer(concurrency.app, name="concurrency")
app.command("worker")(worker.worker)
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(numbers.app, name="numbers")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default from settings)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings)")] = None,
) -> None:
    """Apply pending migrations, then serve the API (and dispatch calls unless
    ``OPENREVOX_DISPATCHER_IN_PROCESS`` is false)."""
    import uvicorn

    from openrevox.app import create_app
    from openrevox.heap import freeze_startup_objects
    from openrevox.storage.migrate import upgrade

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    upgrade(settings.database_url)
    app = create_app(settings, dispatch=settings.dispatcher_in_process)
    freeze_startup_objects()  # no full collection walks the imported world (heap.py)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level.lower() == "debug",
    )


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Apply database migrations."""
    from openrevox.storage.migrate import upgrade

    settings = Settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")
