"""ElevenLabs' REST API: the voice catalog, one voice, and text to speech (MP3).

Header ``xi-api-key``. ``GET /v1/voices`` answers ``{"voices": [...]}``, each with
``voice_id``, ``name``, ``description``, ``category`` and ``labels`` (``accent``,
``gender``, ``description``, ...); a voice's language comes from its
``verified_languages``, its labels or its fine-tuning, English when none says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from openrevox.errors import InvalidInput, NotFound
from openrevox.providers.voices.base import (
    CatalogVoice,
    Speech,
    VendorHttp,
    VoiceProviderUnavailable,
    normalise_gender,
    normalise_language,
)

DEFAULT_MODEL = "eleven_flash_v2_5"
PREVIEW_FORMAT = "mp3_44100_128"
ACCOUNT_CATEGORIES = frozenset({"cloned", "generated", "professional"})


class ElevenLabsVoices(VendorHttp):
    provider = "elevenlabs"
    label = "ElevenLabs"
    key_setting = "OPENREVOX_ELEVENLABS_API_KEY"

    def headers(self) -> dict[str, str]:
        return {"xi-api-key": self._api_key}

    async def list_voices(self) -> list[CatalogVoice]:
        body = self.json_of(await self.request("GET", "/v1/voices"))
        if not isinstance(body, Mapping) or not isinstance(body.get("voices"), list):
            raise VoiceProviderUnavailable("ElevenLabs' voice list has an unexpected shape")
        return [v for v in map(catalog_voice, body["voices"]) if v is not None]

    async def get_voice(self, voice_id: str) -> CatalogVoice | None:
        body = await self.get_optional(f"/v1/voices/{quote(voice_id, safe='')}")
        return None if body is None else catalog_voice(body)

    async def synthesize(
        self,
        voice_id: str,
        text: str,
        *,
        model: str | None,
        speed: float | None,
        volume: float | None,
    ) -> Speech:
        """``POST /v1/text-to-speech/{voice_id}``; ``model`` (a Cartesia one) and
        ``volume`` do not apply to ElevenLabs and are ignored, as the SDK documents."""
        payload: dict[str, Any] = {"text": text, "model_id": DEFAULT_MODEL}
        if speed is not None:
            payload["voice_settings"] = {"speed": speed}
        response = await self.request(
            "POST",
            f"/v1/text-to-speech/{quote(voice_id, safe='')}",
            params={"output_format": PREVIEW_FORMAT},
            json_body=payload,
            accept_statuses=(400, 404, 422),
        )
        if response.status_code == 404 or _status_of(response) == "voice_not_found":
            raise NotFound(f"voice {voice_id!r} not found at ElevenLabs")
        if response.status_code >= 400:
            raise InvalidInput(f"ElevenLabs refused the preview: {self.vendor_message(response)}")
        if not response.content:
            raise VoiceProviderUnavailable("ElevenLabs answered an empty audio file")
        return Speech(response.content, "audio/mpeg", "elevenlabs")


def _status_of(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    detail = body.get("detail") if isinstance(body, Mapping) else None
    status = detail.get("status") if isinstance(detail, Mapping) else None
    return status if isinstance(status, str) else None


def catalog_voice(item: Any) -> CatalogVoice | None:
    """An ElevenLabs voice object in the SDK's vocabulary; None when it cannot be shown."""
    if not isinstance(item, Mapping):
        return None
    voice_id, name = item.get("voice_id"), item.get("name")
    if not isinstance(voice_id, str) or not voice_id or not isinstance(name, str):
        return None
    labels = _mapping(item.get("labels"))
    language = _language(item, labels)
    if language is None:
        return None
    description = item.get("description") or labels.get("description")
    accent = labels.get("accent")
    return CatalogVoice(
        id=voice_id,
        name=name,
        description=description if isinstance(description, str) else "",
        language=language,
        provider="elevenlabs",
        accent=accent if isinstance(accent, str) and accent else None,
        gender=normalise_gender(labels.get("gender")),
        owned=item.get("category") in ACCOUNT_CATEGORIES,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _language(item: Mapping[str, Any], labels: Mapping[str, Any]) -> str | None:
    """The voice's first stated language; English when it states none; None when the
    stated one is not a language the SDK can name."""
    stated: list[Any] = []
    verified = item.get("verified_languages")
    if isinstance(verified, list) and verified and isinstance(verified[0], Mapping):
        stated.append(verified[0].get("language"))
    stated.append(labels.get("language"))
    fine_tuning = item.get("fine_tuning")
    if isinstance(fine_tuning, Mapping):
        stated.append(fine_tuning.get("language"))
    for value in stated:
        if isinstance(value, str) and value:
            return normalise_language(value)
    return "en"
