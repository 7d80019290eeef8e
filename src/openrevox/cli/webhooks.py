"""``openrevox webhooks secret | deliveries | tries | replay``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from openrevox.cli.common import with_database
from openrevox.config import Settings
from openrevox.postcall.notify import DELIVERY_KINDS
from openrevox.services.webhook_secrets import webhook_secret
from openrevox.storage.database import Database
from openrevox.storage.models import utcnow
from openrevox.storage.repositories import jobs as job_repo
from openrevox.storage.repositories import organizations
from openrevox.storage.repositories.jobs import JobView, TryView

app = typer.Typer(no_args_is_help=True, help="Webhook secrets and the delivery log.")
err = Console(stderr=True)
out = Console()


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command("secret")
def secret(
    org: Annotated[str, typer.Option("--org", help="Organization name")],
    rotate: Annotated[bool, typer.Option("--rotate", help="Replace it with a new one")] = False,
) -> None:
    """Print the organization's signing secret as the last line (created if missing)."""

    async def work(db: Database) -> str | None:
        async with db.write() as session:
            organization = await organizations.by_name(session, org)
            if organization is None:
                return None
            return await webhook_secret(session, organization.id, rotate=rotate)

    value = with_database(work)
    if value is None:
        _fail(f"no organization named {org!r}")
    if rotate:
        err.print("A new secret: events are signed with it from now on.")
    typer.echo(value)


@app.command("deliveries")
def deliveries(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization")] = None,
    call: Annotated[str | None, typer.Option("--call", help="Only this call order")] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help=f"One of {', '.join(DELIVERY_KINDS)}")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, running, succeeded or failed")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """List deliveries (webhooks, emails, SMS, Slack, Zoho), newest first."""
    if kind is not None and kind not in DELIVERY_KINDS:
        _fail(f"--kind must be one of {', '.join(DELIVERY_KINDS)}")

    async def work(db: Database) -> list[JobView] | None:
        async with db.read() as session:
            org_id = None
            if org is not None:
                organization = await organizations.by_name(session, org)
                if organization is None:
                    return None
                org_id = organization.id
            return await job_repo.list_jobs(
                session,
                organization_id=org_id,
                call_id=call,
                kinds=[kind] if kind else DELIVERY_KINDS,
                status=status,
                limit=limit,
            )

    views = with_database(work)
    if views is None:
        _fail(f"no organization named {org!r}")
        return
    table = Table("id", "kind", "call", "status", "tries", "created", "last error")
    for v in views:
        table.add_row(
            v.id,
            v.kind,
            v.call_id or "",
            v.status,
            str(v.tries),
            v.created_at.isoformat(timespec="seconds"),
            (v.last_error or "")[:80],
        )
    out.print(table)


@app.command("tries")
def tries(job_id: Annotated[str, typer.Argument(help="Delivery id (the event id)")]) -> None:
    """Every try of one delivery: when, status code, latency, error."""

    async def work(db: Database) -> tuple[JobView | None, list[TryView]]:
        async with db.read() as session:
            return await job_repo.get(session, job_id), await job_repo.tries_of(session, job_id)

    view, rows = with_database(work)
    if view is None:
        _fail(f"no delivery with id {job_id!r}")
        return
    table = Table("try", "started", "ok", "status", "latency ms", "error", "worker")
    for t in rows:
        table.add_row(
            str(t.try_number),
            t.started_at.isoformat(timespec="milliseconds"),
            "yes" if t.ok else "no",
            "" if t.status_code is None else str(t.status_code),
            f"{t.latency_ms:.1f}",
            t.error or "",
            t.worker or "",
        )
    out.print(f"{view.kind} {view.id}: {view.status} after {view.tries} tries")
    out.print(table)


@app.command("replay")
def replay(job_id: Annotated[str, typer.Argument(help="Delivery id (the event id)")]) -> None:
    """Deliver a finished delivery again, with the same event id."""
    window = timedelta(hours=Settings().delivery_retry_for_hours)

    async def work(db: Database) -> tuple[JobView, bool] | None:
        async with db.write() as session:
            before = await job_repo.get(session, job_id)
            if before is None or before.kind not in DELIVERY_KINDS:
                return None
            now = utcnow()
            after = await job_repo.replay(session, job_id, now=now, give_up_at=now + window)
            assert after is not None
            return after, before.status in (job_repo.SUCCEEDED, job_repo.FAILED)

    done = with_database(work)
    if done is None:
        _fail(f"no delivery with id {job_id!r}")
        return
    view, replayed = done
    if not replayed:
        err.print(f"{view.kind} {view.id} is still {view.status}: it was not finished.")
    else:
        err.print(f"{view.kind} {view.id} queued again (same event id).")
    typer.echo(f"{view.id} {view.status}")
