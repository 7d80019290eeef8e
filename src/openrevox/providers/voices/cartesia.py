"""Cartesia's REST API: the voice catalog, one voice, cloning, deleting, and TTS bytes.

Headers ``X-API-Key`` and ``Cartesia-Version`` (the version Pipecat's Cartesia service
speaks, so a voice listed here is one a call can use). ``GET /voices`` is paginated
(``limit`` up to 100, ``starting_after``; ``{"data", "has_more", "next_page"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from openrevox.errors import InvalidInput, NotFound
from openrevox.providers.voices.base import (
    CatalogVoice,
    ClonedVoiceInfo,
    Speech,
    VendorHttp,
    VoiceProviderUnavailable,
    normalise_gender,
    normalise_language,
)

CARTESIA_VERSION = "2026-03-01"
DEFAULT_MODEL = "sonic-3"
PAGE_SIZE = 100
MAX_PAGES = 50
CLIP_EXTENSIONS = {
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
}
# What previews ask Cartesia for: MP3, which every browser plays.
PREVIEW_FORMAT = {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000}


class CartesiaVoices(VendorHttp):
    provider = "cartesia"
    label = "Cartesia"
    key_setting = "OPENREVOX_CARTESIA_API_KEY"

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self._api_key, "Cartesia-Version": CARTESIA_VERSION}

    async def list_voices(self) -> list[CatalogVoice]:
        """Every page of the catalog, mapped; voices in languages the SDK cannot name are
        left out."""
        voices: list[CatalogVoice] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if after:
                params["starting_after"] = after
            body = self.json_of(await self.request("GET", "/voices", params=params))
            if isinstance(body, list):  # older API versions answer a bare list
                items, more, next_page = body, False, None
            elif isinstance(body, Mapping) and isinstance(body.get("data"), list):
                items, more, next_page = (
                    body["data"],
                    bool(body.get("has_more")),
                    body.get("next_page"),
                )
            else:
                raise VoiceProviderUnavailable("Cartesia's voice list has an unexpected shape")
            voices.extend(v for v in map(catalog_voice, items) if v is not None)
            if not more or not items:
                break
            last = items[-1].get("id") if isinstance(items[-1], Mapping) else None
            after = next_page if isinstance(next_page, str) and next_page else str(last or "")
            if not after:
                break
        return voices

    async def get_voice(self, voice_id: str) -> CatalogVoice | None:
        body = await self.get_optional(f"/voices/{quote(voice_id, safe='')}")
        return None if body is None else catalog_voice(body)

    async def clone(
        self, clip: bytes, content_type: str, *, name: str, language: str
    ) -> ClonedVoiceInfo:
        """``POST /voices/clone`` (multipart): the clip, its name and language."""
        extension = CLIP_EXTENSIONS.get(content_type, "bin")
        response = await self.request(
            "POST",
            "/voices/clone",
            data={"name": name, "language": language},
            files={"clip": (f"clip.{extension}", clip, content_type)},
            accept_statuses=(400, 413, 415, 422),
        )
        if response.status_code >= 400:
            raise InvalidInput.at(
                "audio", f"Cartesia could not clone this clip: {self.vendor_message(response)}"
            )
        body = self.json_of(response)
        if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
            raise VoiceProviderUnavailable("Cartesia's clone answer has no voice id")
        return ClonedVoiceInfo(
            id=body["id"],
            name=str(body.get("name") or name),
            language=normalise_language(body.get("language")) or language,
            description=body.get("description")
            if isinstance(body.get("description"), str)
            else None,
        )

    async def delete_voice(self, voice_id: str) -> bool:
        """``DELETE /voices/{id}``; False when Cartesia no longer has it."""
        response = await self.request(
            "DELETE", f"/voices/{quote(voice_id, safe='')}", accept_statuses=(404,)
        )
        return response.status_code != 404

    async def synthesize(
        self,
        voice_id: str,
        text: str,
        *,
        model: str | None,
        speed: float | None,
        volume: float | None,
    ) -> Speech:
        """``POST /tts/bytes``: the whole text as one MP3 file."""
        payload: dict[str, Any] = {
            "model_id": model or DEFAULT_MODEL,
            "transcript": text,
            "voice": {"mode": "id", "id": voice_id},
            "output_format": dict(PREVIEW_FORMAT),
        }
        generation = {
            name: value
            for name, value in (("speed", speed), ("volume", volume))
            if value is not None
        }
        if generation:
            payload["generation_config"] = generation
        response = await self.request(
            "POST", "/tts/bytes", json_body=payload, accept_statuses=(400, 404, 422)
        )
        if response.status_code == 404:
            raise NotFound(f"voice {voice_id!r} not found at Cartesia")
        if response.status_code >= 400:
            raise InvalidInput(f"Cartesia refused the preview: {self.vendor_message(response)}")
        if not response.content:
            raise VoiceProviderUnavailable("Cartesia answered an empty audio file")
        return Speech(response.content, "audio/mpeg", "cartesia")


def catalog_voice(item: Any) -> CatalogVoice | None:
    """A Cartesia voice object in the SDK's vocabulary; None when it cannot be shown."""
    if not isinstance(item, Mapping):
        return None
    voice_id, name = item.get("id"), item.get("name")
    language = normalise_language(item.get("language"))
    if not isinstance(voice_id, str) or not voice_id or not isinstance(name, str) or not language:
        return None
    description = item.get("description")
    accent = item.get("accent")
    return CatalogVoice(
        id=voice_id,
        name=name,
        description=description if isinstance(description, str) else "",
        language=language,
        provider="cartesia",
        accent=accent if isinstance(accent, str) and accent else None,
        gender=normalise_gender(item.get("gender")),
        owned=bool(item.get("is_owner")),
    )
