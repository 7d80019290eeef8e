"""What a call session notes as the call goes, and the ``CallResult`` built from it.

The transcript (each line also handed to the session's transcript listener), FAQ
candidates, texts sent, DTMF digits, the transfer asked for and why the call was taken
for a voicemail; ``result`` adds how the call ended and the recorder's speech events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from openrevox.runtime.result import (
    CallResult,
    EndedBy,
    EndReason,
    FaqCandidate,
    SentSms,
    SpeechEvent,
    TranscriptItem,
    TransferRequest,
)

log = logging.getLogger(__name__)

TranscriptListener = Callable[[TranscriptItem], None]
# Who ended the call, why, and the error message (if any).
Ending = tuple[EndedBy, EndReason, str | None]


@dataclass
class CallLog:
    """One call's notes, kept by its ``CallSession``."""

    on_transcript: TranscriptListener | None = None
    transcript: list[TranscriptItem] = field(default_factory=list)
    faq: list[FaqCandidate] = field(default_factory=list)
    sms: list[SentSms] = field(default_factory=list)
    dtmf: list[str] = field(default_factory=list)
    transfer: TransferRequest | None = None
    voicemail_reason: str | None = None

    def record(self, item: TranscriptItem) -> None:
        """A transcript line; a failing listener is logged, never raised."""
        self.transcript.append(item)
        if self.on_transcript is not None:
            try:
                self.on_transcript(item)
            except Exception:
                log.exception("transcript listener failed")

    def add_faq_candidate(self, question: str) -> None:
        if all(c.question != question for c in self.faq):
            self.faq.append(FaqCandidate(question))

    def result(
        self,
        ending: Ending | None,
        *,
        duration_secs: float,
        speech_events: Sequence[SpeechEvent] = (),
        engines: Mapping[str, str] | None = None,
    ) -> CallResult:
        """The call's result (copies of the notes); no ending means it did not run."""
        ended_by, reason, message = ending or ("system", "error", "the call did not run")
        return CallResult(
            ended_by=ended_by,
            end_reason=reason,
            transcript=list(self.transcript),
            speech_events=list(speech_events),
            error=message,
            faq_candidates=list(self.faq),
            transfer=self.transfer,
            sms=list(self.sms),
            dtmf=list(self.dtmf),
            duration_secs=duration_secs,
            engines=dict(engines or {}),
            voicemail_reason=self.voicemail_reason,
        )
