"""Voicemail detection on answered calls (docs/runtime.md, "Voicemail").

``classify`` (what the callee said), ``beep`` (a steady tone in the callee's audio) and
``tracker`` (when to decide, when the greeting is over) are pure and unit-tested;
``detector.VoicemailDetector`` is the Pipecat processor that feeds them from the call's
frames and tells the session (``VoicemailListener``).
"""

from openrevox.runtime.voicemail.classify import Classification, classify
from openrevox.runtime.voicemail.tracker import VoicemailParams

__all__ = ["Classification", "VoicemailParams", "classify"]
