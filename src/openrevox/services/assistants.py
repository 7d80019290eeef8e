"""Assistant use cases: create, read, partial update, list, archive, clone."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.domain.assistant_defaults import (
    DEFAULT_CONFIG,
    LEGACY_TRANSFER_LABEL,
    effective_transfer_mode,
)
from openrevox.domain.identifiers import is_resource_id
from openrevox.domain.secrets import is_mask_of, mask
from openrevox.errors import InvalidInput, NotFound
from openrevox.schemas.assistant_parts import FaqItemInput
from openrevox.schemas.assistants import (
    AssistantCreate,
    AssistantUpdate,
    config_fields,
    dump_fields,
)
from openrevox.services import auth, call_snapshots, phone_numbers
from openrevox.services.auth import Principal
from openrevox.services.call_snapshots import PENDING_STATUSES, UnpatchedCalls
from openrevox.storage.database import Database
from openrevox.storage.models import Assistant, FaqItem, User, new_id, utcnow
from openrevox.storage.repositories import assistants as repo
from openrevox.storage.repositories.assistants import AssistantRecord, CreatorRecord, FaqRecord
from openrevox.storage.units import Coalescer, Outcome, UnitConnection

CONFIG_FIELDS = config_fields()
HIDDEN_FROM_LIST = ("sub-assistant",)


@dataclass
class AssistantView:
    """An assistant with what its wire form needs besides the row."""

    assistant: Assistant
    faq_items: list[FaqItem]
    creator: User | None
    # After an update: pending calls left on their old snapshot (docs/calls.md).
    unpatched_calls: UnpatchedCalls | None = None


# What to_wire reads: ORM rows (AssistantView) or the plain records of one unit of work.


class AssistantFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def organization_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class FaqFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def answer(self) -> str: ...
    @property
    def needs_human_answer(self) -> bool: ...
    @property
    def source(self) -> str: ...


class CreatorFields(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...


class WireSource(Protocol):
    @property
    def assistant(self) -> AssistantFields: ...
    @property
    def faq_items(self) -> Sequence[FaqFields]: ...
    @property
    def creator(self) -> CreatorFields | None: ...


@dataclass(frozen=True, slots=True)
class RecordView:
    """An assistant as one unit of work read it (plain rows, no ORM)."""

    assistant: AssistantRecord
    faq_items: list[FaqRecord]
    creator: CreatorRecord | None


async def create(
    session: AsyncSession, principal: Principal, body: AssistantCreate
) -> AssistantView:
    changes = _config_changes(body, stored={})
    config = {**copy.deepcopy(DEFAULT_CONFIG), **changes}
    _check_config(config)
    await _check_from_number(session, principal.organization_id, changes, stored={})
    now = utcnow()
    assistant = Assistant(
        id=new_id(),
        organization_id=principal.organization_id,
        name=body.name,
        type=body.type or "standalone",
        config=config,
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    repo.add(session, assistant)
    await session.flush()
    faq = await _merge_faq_items(session, assistant.id, body.faq_items or [], existing=[])
    await session.flush()
    return await _view(session, assistant, faq)


async def get(session: AsyncSession, principal: Principal, assistant_id: str) -> AssistantView:
    assistant = await _require(session, principal, assistant_id)
    faq = (await repo.faq_items(session, [assistant.id]))[assistant.id]
    return await _view(session, assistant, faq)


async def listing(session: AsyncSession, principal: Principal) -> list[AssistantView]:
    rows = await repo.listing(session, principal.organization_id, exclude_types=HIDDEN_FROM_LIST)
    faq = await repo.faq_items(session, [a.id for a in rows])
    creators = await repo.users(session, {a.created_by_id for a in rows if a.created_by_id})
    return [AssistantView(a, faq[a.id], creators.get(a.created_by_id or "")) for a in rows]


# ---- the hot paths: one unit of work in the database thread ----
#
# GET and PATCH check the key and touch the assistant in one unit of work (services run
# on plain rows, storage/units.py). Concurrent requests of one key for one assistant
# share a unit (Coalescer): one locked read, every PATCH applied in arrival order on
# the state the previous one left, each answered with its own result (or error), one
# UPDATE with the final state, one commit. Same answers, errors and order of checks as
# ``get`` and ``update``; whatever those units do not cover goes to ``update``.

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
            return [(False, _not_found(assistant_id)) for _ in range(served)]
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
        requested = _requested_changes(body)
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
        return [(False, _not_found(assistant_id)) for _ in patches]
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
    changes = _keep_masked_key(patch.requested, state.config)
    config = _merged_config(state.config, changes)
    _check_config(config)
    number = changes.get("from_phone_number")
    if number and number != state.config.get("from_phone_number"):
        return state, True  # to be checked against the organization's numbers
    body = patch.body
    updated = dataclasses.replace(
        state,
        name=state.name if body.name is None else body.name,
        type=state.type if body.type is None else body.type,
        config=config if changes else state.config,
        updated_at=_later_than(state.updated_at),
    )
    return updated, False


async def update(
    session: AsyncSession, principal: Principal, assistant_id: str, body: AssistantUpdate
) -> AssistantView:
    assistant = await _require(session, principal, assistant_id, for_update=True)
    changes = _config_changes(body, stored=assistant.config)
    config = _merged_config(assistant.config, changes)
    _check_config(config)
    await _check_from_number(session, principal.organization_id, changes, assistant.config)
    faq = (await repo.faq_items(session, [assistant.id]))[assistant.id]
    if changes:
        assistant.config = config
    if body.name is not None:
        assistant.name = body.name
    if body.type is not None:
        assistant.type = body.type
    if body.faq_items is not None:
        faq = await _merge_faq_items(session, assistant.id, body.faq_items, existing=faq)
    assistant.updated_at = _later_than(assistant.updated_at)
    await session.flush()
    view = await _view(session, assistant, faq)
    # The assistant's pending calls take the new version when they give its variables.
    snapshot = call_snapshots.stored_snapshot(to_wire(view), assistant.config)
    view.unpatched_calls = await call_snapshots.refresh_pending_calls(
        session, assistant.id, snapshot, utcnow()
    )
    return view


async def delete(session: AsyncSession, principal: Principal, assistant_id: str) -> None:
    """Archive the assistant: gone from the API, still there for what refers to it."""
    assistant = await _require(session, principal, assistant_id, for_update=True)
    await call_snapshots.refuse_deletion_if_used(session, assistant.id)
    assistant.deleted_at = utcnow()


async def clone(session: AsyncSession, principal: Principal, assistant_id: str) -> AssistantView:
    source = await _require(session, principal, assistant_id)
    source_faq = (await repo.faq_items(session, [source.id]))[source.id]
    now = utcnow()
    twin = Assistant(
        id=new_id(),
        organization_id=source.organization_id,
        name=source.name,
        type=source.type,
        config=copy.deepcopy(source.config),
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    repo.add(session, twin)
    await session.flush()
    faq = [
        FaqItem(
            id=new_id(),
            assistant_id=twin.id,
            position=item.position,
            question=item.question,
            answer=item.answer,
            needs_human_answer=item.needs_human_answer,
            source=item.source,
        )
        for item in source_faq
    ]
    session.add_all(faq)
    await session.flush()
    return await _view(session, twin, faq)


def to_wire(view: WireSource) -> dict[str, Any]:
    """The assistant as every SDK version from 0.1.1 to 0.5.0 validates it."""
    a = view.assistant
    config = {**DEFAULT_CONFIG, **a.config}
    llm_model = config["llm_model"]
    if llm_model.get("type") == "custom":
        llm_model = {**llm_model, "api_key": mask(llm_model["api_key"])}
    slack = config["slack"]
    if slack:
        first = slack["channels"][0]
        slack = {**slack, "channel_id": first["id"], "channel_name": first.get("name")}
    destinations = config["transfer_destinations"]
    creator = view.creator
    return {
        **config,
        "id": a.id,
        "organization_id": a.organization_id,
        "name": a.name,
        "type": a.type,
        "llm_model": llm_model,
        "slack": slack,
        "human_transfer_mode": effective_transfer_mode(config),
        "transfer_phone_number": destinations[0]["phone_number"] if destinations else None,
        "created_at": _timestamp(a.created_at),
        "updated_at": _timestamp(a.updated_at),
        "created_by": None
        if creator is None
        else {
            "id": creator.id,
            "email": creator.email,
            "first_name": creator.first_name,
            "last_name": creator.last_name,
        },
        "faq_items": [
            {
                "id": f.id,
                "question": f.question,
                "answer": f.answer,
                "needs_human_answer": f.needs_human_answer,
                "source": f.source,
            }
            for f in view.faq_items
        ],
        "pending_faq_count": sum(1 for f in view.faq_items if f.needs_human_answer),
    }


# ---- helpers ----


async def _require(
    session: AsyncSession, principal: Principal, assistant_id: str, *, for_update: bool = False
) -> Assistant:
    assistant = None
    if is_resource_id(assistant_id):
        assistant = await repo.get(
            session, principal.organization_id, assistant_id, for_update=for_update
        )
    if assistant is None:
        raise _not_found(assistant_id)
    return assistant


def _not_found(assistant_id: str) -> NotFound:
    return NotFound(f"no assistant with id {assistant_id!r}")


async def _view(session: AsyncSession, assistant: Assistant, faq: list[FaqItem]) -> AssistantView:
    creators = await repo.users(session, {assistant.created_by_id} - {None})  # type: ignore[arg-type]
    return AssistantView(assistant, faq, creators.get(assistant.created_by_id or ""))


def _config_changes(body: AssistantUpdate, *, stored: dict[str, Any]) -> dict[str, Any]:
    """The config fields the request sets, in stored form. Raises on forbidden nulls."""
    return _keep_masked_key(_requested_changes(body), stored)


def _requested_changes(body: AssistantUpdate) -> dict[str, Any]:
    """The config fields the request sets, in stored form, before looking at the stored
    assistant. Raises on forbidden nulls."""
    sent = body.model_fields_set
    changes = dump_fields(body, set(sent & CONFIG_FIELDS))
    if changes.get("webhook_url") == "":
        changes["webhook_url"] = None  # an empty URL removes the webhook
    if "transfer_phone_number" in sent:
        changes["transfer_destinations"] = _legacy_transfer(body)
    return changes


def _keep_masked_key(changes: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """``changes`` where a custom LLM's masked key sent back becomes the stored key."""
    llm_model = changes.get("llm_model")
    previous = stored.get("llm_model") or {}
    if (
        llm_model
        and llm_model["type"] == "custom"
        and previous.get("type") == "custom"
        and is_mask_of(llm_model["api_key"], previous["api_key"])
    ):
        # the masked key sent back keeps the key
        return {**changes, "llm_model": {**llm_model, "api_key": previous["api_key"]}}
    return changes


def _merged_config(stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The config as it will be stored: defaults of fields the stored one lacks (copied,
    never shared), the stored fields, the changes."""
    missing = {k: copy.deepcopy(v) for k, v in DEFAULT_CONFIG.items() if k not in stored}
    return {**missing, **stored, **changes}


def _legacy_transfer(body: AssistantUpdate) -> list[dict[str, str]] | None:
    number = body.transfer_phone_number
    legacy = [{"label": LEGACY_TRANSFER_LABEL, "phone_number": number}] if number else None
    if "transfer_destinations" in body.model_fields_set:
        given = body.transfer_destinations or []
        if [d.phone_number for d in given] != ([number] if number else []):
            raise InvalidInput.at(
                "transfer_phone_number",
                "disagrees with transfer_destinations; send only transfer_destinations",
            )
        return dump_fields(body, {"transfer_destinations"})["transfer_destinations"]  # type: ignore[no-any-return]
    return legacy


def _check_config(config: dict[str, Any]) -> None:
    """Rules that span fields, checked on the assistant as it will be stored."""
    if config["first_sentence_mode"] == "static" and not (config["first_sentence"] or "").strip():
        raise InvalidInput.at("first_sentence", "is required when first_sentence_mode is 'static'")


async def _check_from_number(
    session: AsyncSession,
    organization_id: str,
    changes: dict[str, Any],
    stored: dict[str, Any],
    *,
    path: str = "from_phone_number",
) -> None:
    """A new ``from_phone_number`` must be one of the organization's numbers
    (docs/phone_numbers.md); the number already stored stays accepted."""
    number = changes.get("from_phone_number")
    if number and number != stored.get("from_phone_number"):
        await phone_numbers.require_owned(session, organization_id, number, path)


async def _merge_faq_items(
    session: AsyncSession,
    assistant_id: str,
    items: list[FaqItemInput],
    *,
    existing: list[FaqItem],
) -> list[FaqItem]:
    """Replace the FAQ list; items sent with a known id keep their identity and source."""
    by_id = {item.id: item for item in existing}
    result: list[FaqItem] = []
    for position, item in enumerate(items):
        row = by_id.pop(item.id, None) if item.id else None
        if row is None:
            row = FaqItem(id=new_id(), assistant_id=assistant_id, source=item.source or "human")
            session.add(row)
        elif item.source:
            row.source = item.source
        row.position = position
        row.question = item.question
        row.answer = item.answer
        row.needs_human_answer = (
            item.needs_human_answer
            if item.needs_human_answer is not None
            else not item.answer.strip()
        )
        result.append(row)
    for gone in by_id.values():
        await session.delete(gone)
    return result


def _later_than(previous: datetime) -> datetime:
    """Now, or just after ``previous`` if the clock has not moved past it."""
    now = utcnow()
    return now if now > previous else previous + timedelta(microseconds=1)


def _timestamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
