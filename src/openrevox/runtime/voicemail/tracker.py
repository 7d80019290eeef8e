"""When to decide, and when the greeting is over (pure: events and times in, actions out).

At the start of an answered call the tracker *listens*: it is told when the callee
starts and stops speaking, what was transcribed and whether a beep was heard, and
classifies (``classify``) as it goes:

- voicemail -> **detected** at once (the session stops the agent and stops listening);
- a person's question -> **done** at once;
- otherwise, once the callee has stopped and waited ``decision_silence_secs`` and the
  transcript of their last words is in (or did not come within ``transcript_grace_secs``
  plus the length of that speech), the final verdict: voicemail or done;
- nothing said within ``window_secs`` -> done (a person who waits for the caller).

Once detected, it waits for the greeting to be over before the message is left: the
end of a beep (+ ``after_beep_secs``), ``greeting_end_silence_secs`` of silence, or
``max_greeting_wait_secs`` at most. Times are seconds on the session clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from openrevox.runtime.voicemail.classify import Classification, classify

State = Literal["listening", "detected", "done"]


@dataclass(frozen=True)
class VoicemailParams:
    """Voicemail detection settings (seconds)."""

    window_secs: float = 15.0
    decision_silence_secs: float = 2.0
    transcript_grace_secs: float = 4.0
    monologue_secs: float = 10.0
    greeting_end_silence_secs: float = 2.0
    after_beep_secs: float = 0.3
    max_greeting_wait_secs: float = 30.0
    listen_for_beep: bool = True
    tick_secs: float = 0.05


@dataclass(frozen=True)
class Detected:
    """The call reached a voicemail."""

    classification: Classification


@dataclass(frozen=True)
class Human:
    """A person answered: detection is over."""

    classification: Classification


@dataclass(frozen=True)
class GreetingOver:
    """The voicemail is recording: leave the message now."""

    reason: Literal["beep", "silence", "timeout"]


TrackerEvent = Detected | Human | GreetingOver


class VoicemailTracker:
    """The detection state of one call (see the module docstring)."""

    def __init__(self, params: VoicemailParams, *, now: float) -> None:
        self.params = params
        self.state: State = "listening"
        self.classification: Classification | None = None
        self.heard: list[str] = []
        self._started_at = now
        self._detected_at: float | None = None
        self._speaking_since: float | None = None
        self._spoken_secs = 0.0
        self._last_segment_secs = 0.0
        self._last_start: float | None = None
        self._last_stop: float | None = None
        self._last_transcript: float | None = None
        self._beep_heard = False
        self._beep_ended: float | None = None

    # ---- what happens on the callee's side ----

    def speech_started(self, at: float) -> None:
        if self._speaking_since is None:
            self._speaking_since = at
            self._last_start = at

    def speech_stopped(self, at: float) -> None:
        if self._speaking_since is not None:
            self._last_segment_secs = max(0.0, at - self._speaking_since)
            self._spoken_secs += self._last_segment_secs
            self._speaking_since = None
            self._last_stop = at

    def transcript(self, text: str, now: float) -> TrackerEvent | None:
        """Words transcribed; a voicemail verdict (or a person's question) is at once."""
        text = text.strip()
        if not text:
            return None
        self.heard.append(text)
        self._last_transcript = now
        if self.state != "listening":
            return None
        return self._judge(now, final=False)

    def beep_started(self, now: float) -> TrackerEvent | None:
        self._beep_heard = True
        if self.state != "listening":
            return None
        return self._judge(now, final=False)

    def beep_ended(self, now: float) -> None:
        self._beep_ended = now

    def machine_answered(
        self, reason: str, now: float, *, greeting_over: bool
    ) -> TrackerEvent | None:
        """The telephony provider's answering-machine detection says a machine answered;
        with ``greeting_over`` (Twilio's ``machine_end_*``) its greeting already ended.
        A person already decided stays a person."""
        if self.state != "listening":
            return None
        verdict = Classification("voicemail", f"answering machine: {reason}")
        self.state, self.classification, self._detected_at = "detected", verdict, now
        if greeting_over:
            self._beep_heard, self._beep_ended = True, now
        return Detected(verdict)

    # ---- time passing ----

    def speech_secs(self, now: float) -> float:
        """How long the callee has talked so far (pauses excluded)."""
        ongoing = now - self._speaking_since if self._speaking_since is not None else 0.0
        return self._spoken_secs + ongoing

    def tick(self, now: float) -> TrackerEvent | None:
        """What the passing of time decides (call it every ``tick_secs``)."""
        if self.state == "listening":
            return self._tick_listening(now)
        if self.state == "detected":
            return self._tick_detected(now)
        return None

    def _tick_listening(self, now: float) -> TrackerEvent | None:
        p = self.params
        if self._speaking_since is not None:
            if self.speech_secs(now) >= p.monologue_secs:
                return self._judge(now, final=False)
            return None
        if self._last_stop is None and self._last_transcript is None:
            if now - self._started_at >= p.window_secs:
                return self._decide_human(Classification("human", "nothing said"))
            return None
        quiet_since = max(t for t in (self._last_stop, self._last_transcript) if t is not None)
        quiet = now - quiet_since
        transcribed = self._last_transcript is not None and (
            self._last_start is None or self._last_transcript >= self._last_start
        )
        # Without the words of the last stretch of speech, wait for them: a recogniser
        # that decodes whole segments takes longer on longer ones (and on a busy host).
        grace = p.transcript_grace_secs + self._last_segment_secs
        if quiet >= p.decision_silence_secs and (transcribed or quiet >= grace):
            return self._judge(now, final=True)
        return None

    def _tick_detected(self, now: float) -> TrackerEvent | None:
        p = self.params
        assert self._detected_at is not None
        if self._beep_ended is not None and now - self._beep_ended >= p.after_beep_secs:
            return self._greeting_over("beep")
        if self._speaking_since is None:
            quiet_since = max(t for t in (self._last_stop, self._detected_at) if t is not None)
            if now - quiet_since >= p.greeting_end_silence_secs:
                return self._greeting_over("silence")
        if now - self._detected_at >= p.max_greeting_wait_secs:
            return self._greeting_over("timeout")
        return None

    # ---- verdicts ----

    def _judge(self, now: float, *, final: bool) -> TrackerEvent | None:
        verdict = classify(
            " ".join(self.heard),
            speech_secs=self.speech_secs(now),
            beep=self._beep_heard,
            final=final,
            monologue_secs=self.params.monologue_secs,
        )
        if verdict.verdict == "voicemail":
            self.state, self.classification, self._detected_at = "detected", verdict, now
            return Detected(verdict)
        if verdict.verdict == "human":
            return self._decide_human(verdict)
        return None

    def _decide_human(self, verdict: Classification) -> Human:
        self.state, self.classification = "done", verdict
        return Human(verdict)

    def _greeting_over(self, reason: Literal["beep", "silence", "timeout"]) -> GreetingOver:
        self.state = "done"
        return GreetingOver(reason)
