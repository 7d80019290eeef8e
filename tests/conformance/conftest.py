"""One real ``openrevox serve`` per backend for the whole conformance suite.

Every test talks to it through the official ``revox`` SDK with strict response
validation, so a response that does not match the SDK's types fails the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from revox import AsyncRevox, Revox

from openrevox.testing.postgres import admin_url, reachable, scratch_database
from openrevox.testing.server import create_key, running_server

OWNER_EMAIL = "owner@acme.test"
OTHER_EMAIL = "owner@globex.test"
LEGACY_EMAIL = "owner@initech.test"


@dataclass(frozen=True)
class Deployment:
    """A running server and API keys for three organizations.

    ``legacy_key``'s organization only holds assistants every older SDK can read
    (the others hold e.g. custom LLMs, which SDK 0.1.1's types cannot represent).
    """

    backend: str
    database_url: str
    base_url: str
    key: str
    other_key: str
    legacy_key: str


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
async def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    """A server on a fresh database; PostgreSQL is skipped when unreachable."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("conformance") / "openrevox.db"
        with _serve("sqlite", f"sqlite+aiosqlite:///{path}") as deployment:
            yield deployment
        return
    problem = await reachable()
    if problem is not None:
        pytest.skip(f"PostgreSQL not reachable at {admin_url()}: {problem}")
    async with scratch_database() as url:
        with _serve("postgresql", url) as deployment:
            yield deployment


@contextmanager
def _serve(backend: str, database_url: str) -> Iterator[Deployment]:
    """Start the server (it migrates the database), then issue one key per organization."""
    with running_server(database_url) as server:
        key = create_key(database_url, "acme", OWNER_EMAIL)
        other_key = create_key(database_url, "globex", OTHER_EMAIL)
        legacy_key = create_key(database_url, "initech", LEGACY_EMAIL)
        for api_key in (key, other_key, legacy_key):
            _add_owned_numbers(server.base_url, api_key)
        yield Deployment(backend, database_url, server.base_url, key, other_key, legacy_key)


# The numbers the suites call from: ``from_phone_number`` must be a number the
# organization owns (docs/phone_numbers.md), added through ``POST /phone-numbers``.
OWNED_NUMBERS = ("+14155552671", "+14155552672", "+14155550123")


def _add_owned_numbers(base_url: str, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    for number in OWNED_NUMBERS:
        response = httpx.post(
            f"{base_url}/phone-numbers",
            json={"phone_number": number, "provider": "twilio", "label": "conformance"},
            headers=headers,
            timeout=30,
        )
        response.raise_for_status()


@pytest.fixture
def client(deployment: Deployment) -> Iterator[Revox]:
    with Revox(
        api_key=deployment.key,
        base_url=deployment.base_url,
        max_retries=0,
        _strict_response_validation=True,
    ) as sdk:
        yield sdk


@pytest.fixture
def other_client(deployment: Deployment) -> Iterator[Revox]:
    """A client of another organization on the same server."""
    with Revox(
        api_key=deployment.other_key,
        base_url=deployment.base_url,
        max_retries=0,
        _strict_response_validation=True,
    ) as sdk:
        yield sdk


@pytest.fixture
async def aclient(deployment: Deployment) -> AsyncIterator[AsyncRevox]:
    async with AsyncRevox(
        api_key=deployment.key,
        base_url=deployment.base_url,
        max_retries=0,
        _strict_response_validation=True,
    ) as sdk:
        yield sdk
