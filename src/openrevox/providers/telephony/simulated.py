"""The simulated phone network: test numbers with known behaviours, like test cards.

| number        | behaviour                                                        |
|---------------|------------------------------------------------------------------|
| +12025550100  | a human answers and talks (the scripted callee)                  |
| +12025550101  | voicemail greeting then beep: result ``voicemail``               |
| +12025550102  | busy: dial_error ``busy``                                        |
| +12025550103  | nobody answers: dial_error ``no_answer``                         |
| +12025550104  | an IVR menu, then a human: result ``human``                      |
| +12025550105  | not attributed: dial_error ``number_non_attributed``             |
| any other     | a human answers and talks                                        |

Ringing and answering take ``simulated_ring_secs`` and ``simulated_answer_secs``. An
answered human runs the real agent (``CallSession``) over the text transport against
``simulated_callee_script``. With ``simulated_stats_path`` set, every dial is counted
in a JSON file shared by processes (live calls, peak, double dials) for tests and
benchmarks.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from openrevox.config import Settings
from openrevox.errors import InvalidInput
from openrevox.providers.sms.factory import in_call_sms_log
from openrevox.providers.telephony.base import (
    AttemptOutcome,
    AttemptProgress,
    DialError,
    DialRequest,
)
from openrevox.providers.telephony.simulated_callee import (
    IVR_MENU,
    VOICEMAIL_GREETING,
    ScriptedCallee,
)
from openrevox.runtime.call_config import resolve_call_config

log = logging.getLogger(__name__)

Behaviour = Literal["human", "voicemail", "busy", "no_answer", "ivr", "not_attributed"]

TEST_NUMBERS: dict[str, Behaviour] = {
    "+12025550100": "human",
    "+12025550101": "voicemail",
    "+12025550102": "busy",
    "+12025550103": "no_answer",
    "+12025550104": "ivr",
    "+12025550105": "not_attributed",
}
DIAL_ERRORS: dict[Behaviour, DialError] = {
    "busy": "busy",
    "no_answer": "no_answer",
    "not_attributed": "number_non_attributed",
}


def behaviour_of(number: str) -> Behaviour:
    return TEST_NUMBERS.get(number, "human")


def _now() -> datetime:
    return datetime.now(UTC)


class SimulatedStats:
    """Live and peak simulated calls, in a JSON file under an exclusive lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _update(self, change: Any) -> dict[str, Any]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            raw = handle.read()
            data: dict[str, Any] = (
                json.loads(raw) if raw else {"live": [], "peak": 0, "dials": 0, "double_dials": 0}
            )
            change(data)
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(data))
            handle.flush()
            return data

    def dialling(self, call_id: str) -> None:
        def change(data: dict[str, Any]) -> None:
            if call_id in data["live"]:
                data["double_dials"] += 1
            data["live"].append(call_id)
            data["dials"] += 1
            data["peak"] = max(data["peak"], len(data["live"]))

        self._update(change)

    def ended(self, call_id: str) -> None:
        def change(data: dict[str, Any]) -> None:
            if call_id in data["live"]:
                data["live"].remove(call_id)

        self._update(change)

    def read(self) -> dict[str, Any]:
        return self._update(lambda _data: None)


@dataclass
class _Line:
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    callee: ScriptedCallee | None = None

    async def wait(self, secs: float) -> bool:
        """Sleep ``secs`` unless hung up meanwhile; True when hung up."""
        if self.hung_up.is_set():
            return True
        if secs <= 0:
            return False
        try:
            await asyncio.wait_for(self.hung_up.wait(), secs)
        except TimeoutError:
            return False
        return True


class SimulatedTelephony:
    """The default telephony provider when no real one is configured."""

    name = "simulated"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats = (
            SimulatedStats(settings.simulated_stats_path)
            if (settings.simulated_stats_path)
            else None
        )
        self._lines: dict[str, _Line] = {}

    async def place_call(self, request: DialRequest, progress: AttemptProgress) -> AttemptOutcome:
        line = self._lines.setdefault(request.attempt_id, _Line())
        if self.stats is not None:
            self.stats.dialling(request.call_id)  # a small file under flock: quick
        try:
            return await self._carry(request, progress, line)
        finally:
            self._lines.pop(request.attempt_id, None)
            if self.stats is not None:
                self.stats.ended(request.call_id)

    async def hang_up(self, attempt_id: str) -> None:
        line = self._lines.get(attempt_id)
        if line is None:
            return
        line.hung_up.set()
        if line.callee is not None:
            await line.callee.hang_up()

    async def _carry(
        self, request: DialRequest, progress: AttemptProgress, line: _Line
    ) -> AttemptOutcome:
        started = _now()
        behaviour = behaviour_of(request.to_number)
        provider_call_id = f"sim-{request.attempt_id}"

        def ended(**values: Any) -> AttemptOutcome:
            values.setdefault("status", "completed")
            return AttemptOutcome(
                started_at=started,
                ended_at=_now(),
                provider_call_id=provider_call_id,
                engine={"telephony": "simulated", "pid": os.getpid()},
                **values,
            )

        if behaviour == "not_attributed":
            return ended(status="error", dial_error="number_non_attributed")
        await progress.ringing(provider_call_id)
        if await line.wait(self.settings.simulated_ring_secs):
            return ended(ended_by="system")
        if behaviour in DIAL_ERRORS:
            return ended(status="error", dial_error=DIAL_ERRORS[behaviour])
        if await line.wait(self.settings.simulated_answer_secs):
            return ended(ended_by="system")
        answered = _now()
        await progress.answered(answered)
        if behaviour == "voicemail":
            return ended(answered_at=answered, **self._voicemail(request))
        script = list(self.settings.simulated_callee_script)
        if behaviour == "ivr":
            script = [IVR_MENU, *script]
        try:
            line.callee = ScriptedCallee(
                request.assistant,
                request.prompt_variables,
                script,
                settings=self.settings,
                callee_number=request.to_number,
                from_number=request.from_number,
                turn_timeout_secs=self.settings.llm_timeout_secs,
            )
        except InvalidInput as exc:
            return ended(status="error", answered_at=answered, ended_by="system", error=str(exc))
        if line.hung_up.is_set():
            return ended(answered_at=answered, result="human", ended_by="system")
        result = await line.callee.run()
        return ended(
            status="error" if result.end_reason == "error" else "completed",
            answered_at=answered,
            result="human",
            ended_by="system" if line.hung_up.is_set() else result.ended_by,
            end_reason=result.wire_end_reason,
            error=result.error,
            transcript=[item.as_wire() for item in result.transcript],
            speech_events=[event.as_wire() for event in result.speech_events],
            sms_log=in_call_sms_log(result.sms, sent_at=datetime.now(UTC)),
            faq_candidates=[{"question": f.question} for f in result.faq_candidates],
        )

    def _voicemail(self, request: DialRequest) -> dict[str, Any]:
        """The greeting and beep; the agent leaves its voicemail message, or hangs up."""
        transcript: list[dict[str, Any]] = [{"role": "user", "content": VOICEMAIL_GREETING}]
        try:
            message = resolve_call_config(
                request.assistant, request.prompt_variables
            ).voicemail_message
        except InvalidInput:
            message = None
        if message:
            transcript.append({"role": "assistant", "content": message})
        return {
            "result": "voicemail",
            "ended_by": "agent",
            "end_reason": "voicemail",
            "transcript": transcript,
        }
