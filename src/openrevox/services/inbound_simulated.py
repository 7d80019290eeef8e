"""An inbound test call on the simulated network: a scripted person calls one of our
numbers and talks with its inbound assistant over the runtime's text transport, as the
simulated callee of an outbound call does (providers/telephony/simulated_callee.py)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from openrevox.config import Settings
from openrevox.errors import InvalidInput
from openrevox.providers.sms.factory import in_call_sms_log
from openrevox.providers.telephony.simulated_callee import ScriptedCallee
from openrevox.services.inbound import InboundAnswer, answer_call, conclude_call
from openrevox.storage.database import Database


async def simulate_inbound_call(
    db: Database,
    settings: Settings,
    *,
    to_number: str,
    from_number: str,
    script: Sequence[str] | None = None,
    http: httpx.AsyncClient | None = None,
) -> InboundAnswer:
    """Ring ``to_number`` from ``from_number``; when the call is taken, the caller says
    ``script`` (default ``simulated_callee_script``), one line per turn, then hangs up.

    Returns once the call is recorded and concluded (order ``post_processing``)."""
    answer = await answer_call(
        db,
        settings,
        to_number=to_number,
        from_number=from_number,
        provider="simulated",
        http=http,
    )
    if answer.kind != "accepted" or answer.attempt_id is None:
        return answer
    engine: dict[str, Any] = {"telephony": "simulated", "direction": "inbound", "pid": os.getpid()}
    records: dict[str, Any] = {"provider_call_id": f"sim-{answer.attempt_id}"}
    faq: list[str] = []
    try:
        caller = ScriptedCallee(
            answer.assistant,
            answer.prompt_variables,
            list(script if script is not None else settings.simulated_callee_script),
            settings=settings,
            callee_number=answer.caller,
            from_number=answer.our_number,
            turn_timeout_secs=settings.llm_timeout_secs,
        )
    except InvalidInput as exc:
        engine["error"] = str(exc)
        records |= {"ended_by": "system", "engine": engine}
    else:
        result = await caller.run()
        if result.error:
            engine["error"] = result.error
        records |= {
            "ended_by": result.ended_by,
            "end_reason": result.wire_end_reason,
            "transcript": [item.as_wire() for item in result.transcript],
            "speech_events": [event.as_wire() for event in result.speech_events],
            "sms_log": in_call_sms_log(result.sms, sent_at=datetime.now(UTC)) or None,
            "engine": engine,
        }
        faq = [f.question for f in result.faq_candidates]
    await conclude_call(db, answer.attempt_id, records=records, faq_questions=faq)
    return answer
