"""``openrevox keys create | list | revoke``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from openrevox.cli.common import with_database
from openrevox.config import Settings
from openrevox.errors import OpenrevoxError
from openrevox.services import auth
from openrevox.storage.database import Database
from openrevox.storage.repositories import api_keys

app = typer.Typer(no_args_is_help=True, help="Manage API keys.")
err = Console(stderr=True)


@app.command("create")
def create(
    org: Annotated[str, typer.Option("--org", help="Organization name (created if missing)")],
    email: Annotated[str, typer.Option("--email", help="User email (created if missing)")],
) -> None:
    """Create an API key. The key is printed once, as the last line of output."""
    country = Settings().default_organization_country

    async def work(db: Database) -> auth.IssuedKey:
        async with db.write() as session:
            return await auth.issue_key(
                session, organization_name=org, email=email, country=country
            )

    issued = with_database(work)
    if issued.created_organization:
        err.print(f"created organization {org!r} ({issued.organization.id})")
    if issued.created_user:
        err.print(f"created user {email!r} ({issued.user.id})")
    err.print(f"API key {issued.api_key.id} (prefix {issued.api_key.prefix}).")
    err.print("Store it now: it is not shown again.")
    typer.echo(issued.key)


@app.command("list")
def list_keys(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization")] = None,
) -> None:
    """List API keys (never the keys themselves)."""

    async def work(db: Database) -> list[tuple[str, ...]]:
        async with db.read() as session:
            return [
                (
                    k.id,
                    k.prefix,
                    o.name,
                    u.email,
                    k.created_at.isoformat(timespec="seconds"),
                    f"revoked {k.revoked_at.isoformat(timespec='seconds')}"
                    if k.revoked_at
                    else "active",
                )
                for k, o, u in await api_keys.listing(session, org)
            ]

    table = Table("id", "prefix", "organization", "user", "created", "status")
    for row in with_database(work):
        table.add_row(*row)
    Console(width=200).print(table)


@app.command("revoke")
def revoke(key: Annotated[str, typer.Argument(help="Key id or prefix (see `keys list`)")]) -> None:
    """Revoke an API key: it answers 401 from then on."""

    async def work(db: Database) -> str:
        async with db.write() as session:
            return (await auth.revoke_key(session, key)).id

    try:
        typer.echo(f"revoked {with_database(work)}")
    except OpenrevoxError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
