"""Helpers for tests and benchmarks: an organization, and call orders placed in bulk."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from openrevox.schemas.calls import CallCreate
from openrevox.services import auth
from openrevox.services import calls as call_service
from openrevox.services.auth import Principal
from openrevox.storage.database import Database
from openrevox.storage.models import Call, new_id, utcnow

ASSISTANT: dict[str, Any] = {
    "prompt": "You are Ava from Acme. You call {{name}} to confirm an appointment.",
    "first_sentence_mode": "static",
    "first_sentence": "Hello {{name}}, this is Ava from Acme.",
    "voicemail_message": "Hi {{name}}, Ava from Acme here. Please call us back.",
    "llm_model": {"type": "dedicated-instance", "name": "gpt-4.1"},
}


async def organization(db: Database, name: str = "acme") -> Principal:
    async with db.write() as session:
        issued = await auth.issue_key(
            session, organization_name=name, email=f"owner@{name}.test", country="US"
        )
    return Principal(issued.organization.id, issued.user.id, issued.api_key.id)


async def place(
    db: Database,
    principal: Principal,
    phone_number: str,
    *,
    retry: dict[str, Any] | None = None,
    concurrency_key: str | None = None,
    scheduled_at: datetime | None = None,
    skip_calling_window: bool = True,
    **assistant: Any,
) -> str:
    """Place one order through the calls service (as ``POST /call`` does); its id."""
    inline = {**ASSISTANT, **assistant}
    if retry is not None:
        inline["call_retry_config"] = retry
    body: dict[str, Any] = {
        "phone_number": phone_number,
        "assistant": inline,
        "prompt_variables": {"name": "Ann"},
        "skip_calling_window": skip_calling_window,
    }
    if concurrency_key is not None:
        body["concurrency"] = {"key": concurrency_key}
    if scheduled_at is not None:
        body["scheduled_at"] = scheduled_at.isoformat()
    async with db.write() as session:
        view = await call_service.create(session, principal, CallCreate.model_validate(body))
    return view.call.id


async def place_many(db: Database, template_id: str, numbers: list[str]) -> list[str]:
    """Copies of an order (same assistant, variables, organization), due now: fast bulk."""
    async with db.read() as session:
        template = await session.get(Call, template_id)
        assert template is not None
        columns = {
            c.key: getattr(template, c.key)
            for c in Call.__mapper__.column_attrs
            if c.key not in {"id", "to_phone_number"}
        }
    now = utcnow()
    ids: list[str] = []
    for start in range(0, len(numbers), 1000):
        async with db.write() as session:
            for number in numbers[start : start + 1000]:
                call = Call(
                    **{k: copy.deepcopy(v) for k, v in columns.items()},
                    id=new_id(),
                    to_phone_number=number,
                )
                call.next_attempt_at = now
                call.scheduled_at = now
                session.add(call)
                ids.append(call.id)
    return ids
