"""The hot paths of the Assistants API: GET and PATCH as one unit of work each in the
database thread (services run on plain rows, storage/units.py).

Concurrent requests of one key for one assistant share a unit (Coalescer): one locked
read, every PATCH applied in arrival order on the state the previous one left, each
answered with its own result (or error), one UPDATE with the final state, one commit.
Same answers, errors and order of checks as ``assistants.get`` and ``.update``; whatever
these units do not cover goes to ``update``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openrevox.domain.identifiers import is_resource_id
from openrevox.errors import InvalidInput
from openrevox.schemas.assistants import AssistantUpdate
from openrevox.services import auth
from openrevox.services.assistant_rules import (
    check_config,
    keep_masked_key,
    later_than,
    merged_config,
    not_found,
    requested_changes,
)
from openrevox.services.call_snapshots import PENDING_STATUSES
from openrevox.storage.database import Database
from openrevox.storage.repositories import assistants as repo
from openrevox.storage.repositories.assistants import AssistantRecord, CreatorRecord, FaqRecord
from openrevox.storage.units import Coalescer, Outcome, UnitConnection


@dataclass(frozen=True, slots=True)
class RecordView:
    """An assistant as one unit of work read it (plain rows, no ORM)."""

    assistant: AssistantRecord
    faq_items: list[FaqRecord]
    creator: CreatorRecord | None


_gets = Coalescer()
_patches = Coalescer()


@dataclass(frozen=True, slots=True)
class _Patch:
    body: AssistantUpdate
    requested: dict[str, Any]
    invalid: InvalidInput | None  # raised after the lookup, as update does


async def get_in_one_unit(db: Database, key: str, assistant_id: str) -> RecordView:
    """``get`` with its authentication: the key, the assistant and its creator in one
    statement, then the FAQ items; concurrent GETs of one key and assistant share it."""
    key_hash = auth.digest(key)
    wanted = assistant_id if is_resource_id(assistant_id) else None

    def work(take: Callable[[], list[Any]], connection: UnitConnection) -> list[Outcome]:
        served = len(take())
        found = repo.keyed_assistant(connection, key_hash, wanted)
        if found is None:
            return [(False, auth.unknown_key()) for _ in range(served)]
        if found.assistant is None:
            return [(False, not_found(assistant_id)) for _ in range(served)]
        view = RecordView(
            found.assistant, repo.faq_records(connection, found.assistant.id), found.creator
        )
        return [(True, view)] * served

    def start(take: Callable[[], list[Any]]) -> asyncio.Future[list[Outcome]]:
        unit = functools.partial(work, take)
        return asyncio.ensure_future(db.unit(unit, write=False, key=assistant_id))

    view: RecordView = await _gets.run((db, key_hash, assistant_id), None, start)
    return view


async def update_in_one_unit(
    db: Database, key: str, assistant_id: str, body: AssistantUpdate
) -> RecordView | None:
    """``update`` with its authentication, in one unit of work: the key and the locked
    assistant in one statement, the merge and its checks, one UPDATE (conditional on no
    pending call using the assistant), the FAQ items, one commit.

    None when the request needs what only the general path does (a new FAQ list, a new
    ``from_phone_number`` to check, pending calls to re-snapshot): nothing was written
    for it, and the caller runs ``update``.
    """
    if body.faq_items is not None:
        return None
    key_hash = auth.digest(key)
    wanted = assistant_id if is_resource_id(assistant_id) else None
    invalid: InvalidInput | None = None
    try:
        requested = requested_changes(body)
    except InvalidInput as exc:
        invalid, requested = exc, {}
    patch = _Patch(body, requested, invalid)
    start = _patch_starter(db, key_hash, wanted, assistant_id)
    # A new from_phone_number may need the general path's check: then alone, so that no
    # later PATCH is applied before it.
    alone = "from_phone_number" in body.model_fields_set
    group = object() if alone else (db, key_hash, assistant_id)
    view: RecordView | None = await _patches.run(group, patch, start)
    return view


def _patch_starter(
    db: Database, key_hash: str, wanted: str | None, assistant_id: str
) -> Callable[[Callable[[], list[Any]]], asyncio.Future[list[Outcome]]]:
    def start(take: Callable[[], list[Any]]) -> asyncio.Future[list[Outcome]]:
        unit = functools.partial(_patch_unit, take, key_hash, wanted, assistant_id)
        return asyncio.ensure_future(db.unit(unit, write=True, key=assistant_id))

    return start


def _patch_unit(
    take: Callable[[], list[Any]],
    key_hash: str,
    wanted: str | None,
    assistant_id: str,
    connection: UnitConnection,
) -> list[Outcome]:
    """The PATCHes of one group, in arrival order, as one read-modify-write of the row."""
    patches: list[_Patch] = take()
    found = repo.keyed_assistant(connection, key_hash, wanted, lock=True)
    if found is None or found.assistant is None:
        if not repo.key_is_active(connection, key_hash):
            return [(False, auth.unknown_key()) for _ in patches]
        return [(False, not_found(assistant_id)) for _ in patches]
    state = found.assistant
    applied: list[tuple[bool, Any]] = []
    for patch in patches:
        try:
            state, fallback = _apply(state, patch)
        except InvalidInput as exc:  # this PATCH only: nothing of it is written
            applied.append((False, exc))
            continue
        applied.append((True, None if fallback else state))
    if not any(ok and value is not None for ok, value in applied):
        return applied
    if not repo.store_unless_pending_calls(connection, state, PENDING_STATUSES):
        # Pending calls to re-snapshot: every applied PATCH goes to the general path.
        return [(True, None) if ok else (False, value) for ok, value in applied]
    faq = repo.faq_records(connection, state.id)
    return [
        (True, RecordView(value, faq, found.creator)) if ok and value is not None else (ok, value)
        for ok, value in applied
    ]


def _apply(state: AssistantRecord, patch: _Patch) -> tuple[AssistantRecord, bool]:
    """``state`` after the PATCH, and whether the general path must do it instead (a new
    ``from_phone_number``: then ``state`` is returned unchanged)."""
    if patch.invalid is not None:
        raise patch.invalid
    changes = keep_masked_key(patch.requested, state.config)
    config = merged_config(state.config, changes)
    check_config(config)
    number = changes.get("from_phone_number")
    if number and number != state.config.get("from_phone_number"):
        return state, True  # to be checked against the organization's numbers
    body = patch.body
    updated = dataclasses.replace(
        state,
        name=state.name if body.name is None else body.name,
        type=state.type if body.type is None else body.type,
        config=config if changes else state.config,
        updated_at=later_than(state.updated_at),
    )
    return updated, False
