"""``openrevox numbers add | list | remove | simulate-inbound`` (docs/phone_numbers.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from openrevox.cli.common import with_database
from openrevox.errors import OpenrevoxError
from openrevox.schemas.phone_numbers import NumberType, PhoneNumberCreate, Provider, Source
from openrevox.services import phone_numbers as service
from openrevox.storage.database import Database
from openrevox.storage.repositories import organizations

app = typer.Typer(no_args_is_help=True, help="Phone numbers of organizations.")
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def _organization_id(db: Database, org: str) -> str:
    async with db.read() as session:
        organization = await organizations.by_name(session, org)
    if organization is None:
        raise OpenrevoxError(f"no organization named {org!r}")
    return organization.id


@app.command("add")
def add(
    number: Annotated[str, typer.Argument(help="E.164 (+14155550100) or national")],
    org: Annotated[str, typer.Option("--org", help="Organization name")],
    provider: Annotated[str, typer.Option("--provider", help="twilio, telnyx or sip")] = "twilio",
    label: Annotated[str | None, typer.Option("--label", help="A name for the number")] = None,
    source: Annotated[
        str, typer.Option("--source", help="user_imported, revox_provisioned, revox_purchased")
    ] = "user_imported",
    number_type: Annotated[
        str, typer.Option("--type", help="owned_number or verified_caller_id")
    ] = "owned_number",
    sip_uri: Annotated[
        str | None, typer.Option("--inbound-sip-uri", help="sip: URI inbound calls come from")
    ] = None,
    assistant: Annotated[
        str | None, typer.Option("--inbound-assistant", help="Assistant id answering calls")
    ] = None,
) -> None:
    """Add a number to an organization; prints its id as the last line."""
    try:
        body = PhoneNumberCreate(
            phone_number=number,
            provider=cast(Provider, provider),
            source=cast(Source, source),
            type=cast(NumberType, number_type),
            label=label,
            inbound_sip_uri=sip_uri,
            inbound_assistant_id=assistant,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        _fail(problems)
        return

    async def work(db: Database) -> dict[str, Any]:
        organization_id = await _organization_id(db, org)
        async with db.write() as session:
            view = await service.create(session, organization_id, None, body)
            return service.to_wire(view)

    try:
        wire = with_database(work)
    except OpenrevoxError as exc:
        _fail(exc.message)
        return
    err.print(f"added {wire['phone_number']} ({wire['provider']}) to {org!r}")
    typer.echo(wire["id"])


@app.command("list")
def list_numbers(
    org: Annotated[str, typer.Option("--org", help="Organization name")],
) -> None:
    """The organization's numbers."""

    async def work(db: Database) -> list[dict[str, Any]]:
        organization_id = await _organization_id(db, org)
        async with db.read() as session:
            return [service.to_wire(v) for v in await service.listing(session, organization_id)]

    try:
        rows = with_database(work)
    except OpenrevoxError as exc:
        _fail(exc.message)
        return
    table = Table("id", "number", "provider", "type", "label", "inbound assistant")
    for row in rows:
        inbound = row["inbound_assistant"]
        table.add_row(
            row["id"],
            row["phone_number"],
            row["provider"],
            row["type"],
            row["label"] or "",
            f"{inbound['name']} ({inbound['id']})" if inbound else "",
        )
    Console(width=200).print(table)


@app.command("remove")
def remove(
    number: Annotated[str, typer.Argument(help="The number (any accepted form) or its id")],
    org: Annotated[str, typer.Option("--org", help="Organization name")],
) -> None:
    """Remove a number (refused while assistants or campaigns call from it)."""

    async def work(db: Database) -> str:
        organization_id = await _organization_id(db, org)
        async with db.write() as session:
            if _is_uuid(number.strip()):
                number_id = number.strip()
            else:
                view = await service.by_number(session, organization_id, number)
                if view is None:
                    raise OpenrevoxError(f"{number} is not a phone number of {org!r}")
                number_id = view.number.id
            await service.delete(session, organization_id, number_id)
            return number_id

    try:
        removed = with_database(work)
    except OpenrevoxError as exc:
        _fail(exc.message)
        return
    typer.echo(f"removed {removed}")


@app.command("simulate-inbound")
def simulate_inbound(
    number: Annotated[str, typer.Argument(help="The number called (one of ours)")],
    caller: Annotated[str, typer.Option("--from", help="The caller's number")],
    line: Annotated[
        list[str] | None,
        typer.Option("--say", help="What the caller says, one option per turn"),
    ] = None,
) -> None:
    """Place an inbound test call on the simulated network: the caller talks with the
    number's inbound assistant (the LLM of the settings). Prints the call id last."""
    from openrevox.config import Settings
    from openrevox.services.inbound_simulated import simulate_inbound_call

    settings = Settings()

    async def work(db: Database) -> tuple[str, str, str | None]:
        answer = await simulate_inbound_call(
            db, settings, to_number=number, from_number=caller, script=line or None
        )
        return answer.kind, answer.reason, answer.call_id

    kind, reason, call_id = with_database(work)
    if kind == "rejected":
        _fail(f"rejected: {reason}")
    if kind == "errored":
        err.print(f"[red]errored:[/red] {reason}")
    else:
        err.print("the call was answered and is in post_processing")
    typer.echo(call_id)
    if kind == "errored":
        raise typer.Exit(1)
