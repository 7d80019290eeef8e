"""The psycopg driver works as well as asyncpg for PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from openrevox.app import create_app
from openrevox.config import Settings
from openrevox.services import auth
from openrevox.storage.migrate import upgrade_async
from openrevox.testing.postgres import admin_url, reachable, scratch_database


@pytest.fixture
async def psycopg_url() -> AsyncIterator[str]:
    problem = await reachable()
    if problem is not None:
        pytest.skip(f"PostgreSQL not reachable at {admin_url()}: {problem}")
    async with scratch_database() as url:
        yield make_url(url).set(drivername="postgresql+psycopg").render_as_string(False)


@pytest.mark.postgres
async def test_assistant_round_trip_over_psycopg(psycopg_url: str) -> None:
    url = psycopg_url
    await upgrade_async(url)
    app = create_app(Settings(database_url=url))
    async with app.router.lifespan_context(app):
        async with app.state.db.write() as session:
            issued = await auth.issue_key(
                session, organization_name="o", email="e@o.t", country="US"
            )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://t",
            headers={"Authorization": f"Bearer {issued.key}"},
        ) as client:
            created = await client.post("/assistants", json={"name": "A", "prompt": "P"})
            assistant_id = created.json()["assistant"]["id"]
            patched = await client.patch(f"/assistants/{assistant_id}", json={"name": "B"})
            assert patched.json()["assistant"]["name"] == "B"
            assert (await client.get(f"/assistants/{assistant_id}")).json()["name"] == "B"
