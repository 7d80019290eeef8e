"""Read an assistant for a call by id, across organizations (the runtime's own lookup)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.errors import NotFound
from openrevox.services.assistants import AssistantView, to_wire
from openrevox.storage.models import Assistant, FaqItem


async def load_assistant_wire(session: AsyncSession, assistant_id: str) -> dict[str, Any]:
    """The live assistant's wire dict (``to_wire``) with its FAQ; the custom LLM key is
    kept unmasked, since the call needs it."""
    assistant = await session.scalar(
        select(Assistant).where(Assistant.id == assistant_id, Assistant.deleted_at.is_(None))
    )
    if assistant is None:
        raise NotFound(f"no assistant with id {assistant_id!r}")
    faq = list(
        await session.scalars(
            select(FaqItem).where(FaqItem.assistant_id == assistant.id).order_by(FaqItem.position)
        )
    )
    wire = to_wire(AssistantView(assistant, faq, None))
    wire["llm_model"] = dict(assistant.config.get("llm_model") or wire["llm_model"])
    return wire
