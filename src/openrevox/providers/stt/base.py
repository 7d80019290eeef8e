"""Choose the speech-to-text engine for a call.

Soniox realtime when ``OPENREVOX_SONIOX_API_KEY`` is set (``stt_model`` names its
model), else Deepgram when ``OPENREVOX_DEEPGRAM_API_KEY`` is set, else the local
pocketsphinx engine (``OPENREVOX_LOCAL_SPEECH_FALLBACK``, on by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipecat.services.stt_service import STTService

from openrevox.config import Settings
from openrevox.providers.tts.base import SpeechNotConfigured

LOCAL_ENGINE = "local-pocketsphinx"
DEFAULT_SONIOX_MODEL = "stt-rt-v5"


@dataclass(frozen=True)
class STTChoice:
    """The service that listens and its engine name, for the call record."""

    service: STTService
    engine: str

    @property
    def needs_vad_segments(self) -> bool:
        """True for segmented engines, which transcribe only between VAD start and stop."""
        from pipecat.services.stt_service import SegmentedSTTService

        return isinstance(self.service, SegmentedSTTService)


def make_stt(
    stt_model: str | None,
    settings: Settings,
    context_terms: Sequence[str] = (),
    *,
    context_general: Mapping[str, str] | None = None,
    sample_rate: int | None = None,
) -> STTChoice:
    """An STT service; ``context_terms``/``context_general`` come from ``stt_context``."""
    if settings.soniox_api_key is not None:
        from pipecat.services.soniox.stt import (
            SonioxContextGeneralItem,
            SonioxContextObject,
            SonioxSTTService,
        )

        options = SonioxSTTService.Settings(model=stt_model or DEFAULT_SONIOX_MODEL)
        if context_terms or context_general:
            options.context = SonioxContextObject(
                general=[
                    SonioxContextGeneralItem(key=k, value=v)
                    for k, v in (context_general or {}).items()
                ]
                or None,
                terms=list(context_terms) or None,
            )
        service: STTService = SonioxSTTService(
            api_key=settings.soniox_api_key.get_secret_value(),
            sample_rate=sample_rate,
            settings=options,
        )
        return STTChoice(service, "soniox")
    if settings.deepgram_api_key is not None:
        from pipecat.services.deepgram.stt import DeepgramSTTService

        dg_options = DeepgramSTTService.Settings(model="nova-3")
        if context_terms:
            dg_options.keyterm = list(context_terms)
        service = DeepgramSTTService(
            api_key=settings.deepgram_api_key.get_secret_value(),
            sample_rate=sample_rate,
            settings=dg_options,
        )
        return STTChoice(service, "deepgram")
    if not settings.local_speech_fallback:
        raise SpeechNotConfigured(
            "speech to text needs OPENREVOX_SONIOX_API_KEY (or OPENREVOX_DEEPGRAM_API_KEY, "
            "or OPENREVOX_LOCAL_SPEECH_FALLBACK=true to listen with the local engine)"
        )
    from openrevox.providers.stt.local_pocketsphinx import LocalPocketsphinxSTTService

    return STTChoice(
        LocalPocketsphinxSTTService(context_terms=context_terms, sample_rate=sample_rate),
        LOCAL_ENGINE,
    )
