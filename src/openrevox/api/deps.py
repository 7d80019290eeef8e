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


async def principal(request: Request) -> Principal:
    key = auth.parse_bearer(request.headers.get("authorization"))
    async with database(request).read() as session:
        return await auth.authenticate(session, key)


Db = Annotated[Database, Depends(database)]
Caller = Annotated[Principal, Depends(principal)]
