"""Request dependencies: the database and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from openrevox.services import auth
from openrevox.services.auth import Principal
from openrevox.storage.database import Database


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def bearer_key(request: Request) -> str:
    """The key of ``Authorization: Bearer <key>``, not yet checked (401 when absent).

    Routes that check it in their own unit of work (``api.assistants``) call it."""
    return auth.parse_bearer(request.headers.get("authorization"))


async def authenticate(db: Database, key: str) -> Principal:
    async with db.read() as session:
        return await auth.authenticate(session, key)


async def principal(request: Request) -> Principal:
    return await authenticate(database(request), bearer_key(request))


# A dependency is a coroutine: FastAPI runs a plain function in a worker thread, a
# thread hop per request for what is an attribute read.


async def _database(request: Request) -> Database:
    return database(request)


Db = Annotated[Database, Depends(_database)]
Caller = Annotated[Principal, Depends(principal)]
