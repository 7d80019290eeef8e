"""Is the callee's opening a voicemail greeting? (pure: text and timings in, verdict out)

An answering machine announces itself ("you've reached Ann, I can't take your call,
please leave a message after the tone"), talks on without waiting for an answer, and
beeps. A person says a few words ("Hello?", "Yes, who is this?") and waits. So:

- **voicemail** at once on a greeting phrase, a beep, or a monologue (``monologue_secs``
  of callee speech without the pause a person leaves for an answer) with nothing a
  person would ask;
- **human** at once on what a person asks a caller ("who is this?", "how can I help?");
- otherwise **unsure** while the callee may go on (a greeting often starts like a person
  does: "Hi, this is Ann ..."), and **human** once they have stopped and waited
  (``final``).

Transcripts may come from a speech recogniser without punctuation or case, and with
contractions spelt either way; the text is normalised before matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["voicemail", "human", "unsure"]


@dataclass(frozen=True)
class Classification:
    """A verdict and why (``reason`` is for the call record and logs)."""

    verdict: Verdict
    reason: str


# Phrases of voicemail greetings and carrier messages, matched on normalised text
# (lower case, contractions expanded, punctuation removed).
VOICEMAIL_PHRASES: tuple[tuple[str, str], ...] = (
    (
        "leave a message",
        r"\bleave (?:a |an |your |me a |us a |me your |us your )?(?:brief |short |quick |"
        r"detailed )?(?:message|voice ?mail|name and (?:phone )?number|number)\b",
    ),
    ("after the tone", r"\b(?:after|at) the (?:tone|beep|signal|sound of the tone)\b"),
    ("voicemail", r"\bvoice ?mail\b|\bvoice messag(?:e|ing) (?:system|service|box)\b"),
    ("answering machine", r"\banswering (?:machine|service)\b"),
    ("mailbox", r"\bmail ?box\b"),
    ("not available", r"\bun ?available\b|\bnot (?:currently |presently |now )?available\b"),
    (
        "cannot take the call",
        r"\b(?:can not|unable to|not able to) (?:come to|take|answer|get to|pick up) "
        r"(?:the |your |this |my )?(?:phone|call)s?\b",
    ),
    ("you have reached", r"\byou have reached\b"),
    ("record your message", r"\brecord (?:your|a) message\b|\bwhen you (?:are|have) finished\b"),
    ("away from the phone", r"\b(?:away from|out of) (?:the|my|our) (?:phone|desk|office)\b"),
    (
        "will call you back",
        r"\b(?:get back to you|return your call|call you back) (?:as soon as|shortly|"
        r"when|at (?:my|our|the) earliest)\b",
    ),
    (
        "the person you are calling",
        r"\bthe (?:person|party|number|subscriber|customer) you (?:are|have) "
        r"(?:calling|called|dialed|dialled|trying to reach)\b",
    ),
    ("forwarded to voicemail", r"\bforwarded to (?:an |the )?(?:automated|automatic)\b"),
)

# What a person answering says to a caller (a machine does not ask).
HUMAN_PHRASES: tuple[tuple[str, str], ...] = (
    ("who is this", r"\bwho is (?:this|calling|it|that|speaking)\b"),
    ("can I help", r"\b(?:can|may|could) i help\b|\bhow can i help\b|\bhelp you\b"),
    ("what is this about", r"\bwhat is (?:this|it) (?:about|regarding|concerning)\b"),
    ("speaking", r"^(?:\w+ ){0,3}speaking$"),
)

# A first utterance this short, followed by a pause, is a person answering.
SHORT_OPENING_WORDS = 6

_CONTRACTIONS = {
    "you've": "you have",
    "youve": "you have",
    "i've": "i have",
    "we've": "we have",
    "i'm": "i am",
    "im": "i am",
    "we're": "we are",
    "you're": "you are",
    "they're": "they are",
    "can't": "can not",
    "cant": "can not",
    "cannot": "can not",
    "isn't": "is not",
    "aren't": "are not",
    "won't": "will not",
    "don't": "do not",
    "i'll": "i will",
    "we'll": "we will",
    "it's": "it is",
    "who's": "who is",
    "what's": "what is",
    "that's": "that is",
    "he's": "he is",
    "she's": "she is",
}

_VOICEMAIL = tuple((name, re.compile(pattern)) for name, pattern in VOICEMAIL_PHRASES)
_HUMAN = tuple((name, re.compile(pattern)) for name, pattern in HUMAN_PHRASES)


def normalize(text: str) -> str:
    """Lower case, one space between words, contractions expanded, punctuation gone."""
    words = re.sub(r"[^a-z0-9']+", " ", text.lower().replace("’", "'")).split()
    expanded = (_CONTRACTIONS.get(word, word) for word in words)
    return " ".join(word.replace("'", "") for word in expanded)


def voicemail_phrase(text: str) -> str | None:
    """The first voicemail greeting phrase in ``text`` (its name), if any."""
    normal = normalize(text)
    return next((name for name, pattern in _VOICEMAIL if pattern.search(normal)), None)


def human_phrase(text: str) -> str | None:
    """The first thing in ``text`` that a person answering a call says, if any."""
    normal = normalize(text)
    return next((name for name, pattern in _HUMAN if pattern.search(normal)), None)


def classify(
    text: str,
    *,
    speech_secs: float = 0.0,
    beep: bool = False,
    final: bool = False,
    monologue_secs: float = 10.0,
) -> Classification:
    """Classify what the callee has said since the call was answered.

    ``text`` is everything transcribed so far; ``speech_secs`` how long the callee has
    been talking without leaving a pause for an answer (0 when unknown, as on text);
    ``beep`` whether a beep was heard; ``final`` whether the callee has stopped and
    waited (then there is no more ``unsure``).
    """
    if beep:
        return Classification("voicemail", "beep")
    phrase = voicemail_phrase(text)
    if phrase is not None:
        return Classification("voicemail", f"greeting phrase: {phrase}")
    asked = human_phrase(text)
    if asked is not None:
        return Classification("human", f"a person's question: {asked}")
    if speech_secs >= monologue_secs:
        return Classification("voicemail", f"monologue of {speech_secs:.0f} s")
    if not final:
        return Classification("unsure", "the callee may go on")
    words = len(normalize(text).split())
    if words <= SHORT_OPENING_WORDS:
        return Classification("human", "a short answer, then a pause")
    return Classification("human", "no voicemail greeting")
