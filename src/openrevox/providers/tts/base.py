"""Choose the text-to-speech engine for a call from the assistant's ``voice``.

The voice's own provider speaks when its key is configured; otherwise the local
piper engine does (``OPENREVOX_LOCAL_SPEECH_FALLBACK``, on by default). The wire
only knows cartesia/elevenlabs/gradium, so ``engine`` is what the call record
says spoke, never a voice provider in an API response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipecat.services.tts_service import TTSService
from pydantic import SecretStr

from openrevox.config import Settings
from openrevox.errors import OpenrevoxError

LOCAL_ENGINE = "local-piper"
KEY_SETTING = {
    "cartesia": "cartesia_api_key",
    "elevenlabs": "elevenlabs_api_key",
    "gradium": "gradium_api_key",
}


class SpeechNotConfigured(OpenrevoxError):
    """A call needs a speech vendor whose credentials the server lacks."""

    status_code = 422
    code = "speech_not_configured"


@dataclass(frozen=True)
class TTSChoice:
    """The service that speaks, its engine name, and a gain for the output transport.

    ``output_volume`` is applied by the transport (``audio_out_volume``) for vendors
    without a volume control of their own; it is 1.0 otherwise.
    """

    service: TTSService
    engine: str
    output_volume: float = 1.0


def env_name(setting: str) -> str:
    """``cartesia_api_key`` -> ``OPENREVOX_CARTESIA_API_KEY``."""
    return f"OPENREVOX_{setting.upper()}"


def make_tts(
    voice: Mapping[str, Any] | None, settings: Settings, *, sample_rate: int | None = None
) -> TTSChoice:
    """A TTS service for ``voice`` (the assistant's wire ``voice`` object, or None).

    Raises :class:`SpeechNotConfigured`, naming the missing setting, when the
    voice's provider has no key and the local fallback is off.
    """
    provider = str(voice.get("provider")) if voice else None
    speed = _number(voice, "speed")
    volume = _number(voice, "volume")
    key: SecretStr | None = None
    if provider is not None and provider in KEY_SETTING:
        key = getattr(settings, KEY_SETTING[provider])
    if voice is not None and provider is not None and key is not None:
        build = _VENDORS[provider]
        return build(voice, key.get_secret_value(), speed, volume, sample_rate)
    if not settings.local_speech_fallback:
        if provider is None:
            raise SpeechNotConfigured(
                "the assistant has no voice and OPENREVOX_LOCAL_SPEECH_FALLBACK is off"
            )
        missing = env_name(KEY_SETTING.get(provider, f"{provider}_api_key"))
        raise SpeechNotConfigured(
            f"voice provider {provider!r} needs {missing} "
            "(or OPENREVOX_LOCAL_SPEECH_FALLBACK=true to speak with the local voice)"
        )
    from openrevox.providers.tts.local_piper import LocalPiperTTSService

    service = LocalPiperTTSService(
        speed=speed or 1.0, volume=volume or 1.0, sample_rate=sample_rate
    )
    return TTSChoice(service, LOCAL_ENGINE)


def _number(voice: Mapping[str, Any] | None, name: str) -> float | None:
    value = voice.get(name) if voice else None
    return float(value) if value is not None else None


_Builder = Callable[
    [Mapping[str, Any], str, "float | None", "float | None", "int | None"], TTSChoice
]


def _cartesia(
    voice: Mapping[str, Any],
    key: str,
    speed: float | None,
    volume: float | None,
    sample_rate: int | None,
) -> TTSChoice:
    from pipecat.services.cartesia.tts import CartesiaTTSService, GenerationConfig

    settings = CartesiaTTSService.Settings(voice=str(voice["id"]))
    if voice.get("model"):
        settings.model = str(voice["model"])
    if speed is not None or volume is not None:
        settings.generation_config = GenerationConfig(speed=speed, volume=volume)
    service = CartesiaTTSService(api_key=key, sample_rate=sample_rate, settings=settings)
    return TTSChoice(service, "cartesia")


def _elevenlabs(
    voice: Mapping[str, Any],
    key: str,
    speed: float | None,
    volume: float | None,
    sample_rate: int | None,
) -> TTSChoice:
    from pipecat.services.elevenlabs.tts import ElevenLabsTTSService

    settings = ElevenLabsTTSService.Settings(voice=str(voice["id"]))
    if speed is not None:
        settings.speed = speed
    service = ElevenLabsTTSService(api_key=key, sample_rate=sample_rate, settings=settings)
    return TTSChoice(service, "elevenlabs", output_volume=volume or 1.0)


def _gradium(
    voice: Mapping[str, Any],
    key: str,
    speed: float | None,
    volume: float | None,
    sample_rate: int | None,
) -> TTSChoice:
    from pipecat.services.gradium.tts import GradiumTTSService

    # Gradium has no speed control in Pipecat 1.14; the speed is not applied.
    settings = GradiumTTSService.Settings(voice=str(voice["id"]))
    service = GradiumTTSService(api_key=key, settings=settings)
    return TTSChoice(service, "gradium", output_volume=volume or 1.0)


_VENDORS: dict[str, _Builder] = {
    "cartesia": _cartesia,
    "elevenlabs": _elevenlabs,
    "gradium": _gradium,
}
