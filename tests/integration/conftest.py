"""An in-process app on a migrated database, with two organizations' API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from openrevox.app import create_app
from openrevox.config import Settings
from openrevox.services import auth
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async


@dataclass
class Api:
    """Clients for two organizations, and the database behind them."""

    client: httpx.AsyncClient
    other: httpx.AsyncClient
    anonymous: httpx.AsyncClient
    db: Database
    key: str
    other_key: str


async def _issue(db: Database, org: str, email: str) -> str:
    async with db.write() as session:
        issued = await auth.issue_key(session, organization_name=org, email=email, country="FR")
    return issued.key


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    await upgrade_async(database_url)
    app = create_app(Settings(database_url=database_url))
    async with app.router.lifespan_context(app):
        db: Database = app.state.db
        key = await _issue(db, "acme", "owner@acme.test")
        other_key = await _issue(db, "globex", "owner@globex.test")
        transport = httpx.ASGITransport(app=app)
        base = "http://openrevox.test"
        async with (
            httpx.AsyncClient(
                transport=transport, base_url=base, headers={"Authorization": f"Bearer {key}"}
            ) as client,
            httpx.AsyncClient(
                transport=transport,
                base_url=base,
                headers={"Authorization": f"Bearer {other_key}"},
            ) as other,
            httpx.AsyncClient(transport=transport, base_url=base) as anonymous,
        ):
            yield Api(client, other, anonymous, db, key, other_key)


async def own_numbers(client: httpx.AsyncClient, *numbers: str) -> None:
    """Add phone numbers to the client's organization: ``from_phone_number`` must be
    one of its numbers (docs/phone_numbers.md)."""
    for number in numbers:
        response = await client.post(
            "/phone-numbers", json={"phone_number": number, "provider": "twilio"}
        )
        assert response.status_code == 201, response.text
