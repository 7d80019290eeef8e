"""``/voices``: the SDK's request and response shapes (``revox.types.voice_*``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from openrevox.schemas.assistant_parts import VOICE_SPEED_RANGE, VOICE_VOLUME_RANGE, VoiceProvider
from openrevox.schemas.common import Finite, Name, StrictModel, WireModel, at, reject_nul

VoiceLanguage = Literal["en", "fr", "es", "de", "it", "pt", "ru", "zh"]
CloneContentType = Literal[
    "audio/webm", "audio/wav", "audio/mpeg", "audio/ogg", "audio/mp4", "video/webm"
]
MAX_PREVIEW_CHARS = 500
# "max ~7.5MB decoded" (VoiceCloneParams.audio); base64 is 4/3 of that.
MAX_CLIP_BYTES = 7_864_320
MAX_CLIP_BASE64_CHARS = (MAX_CLIP_BYTES + 2) // 3 * 4 + 1024


class VoiceCloneRequest(StrictModel):
    """``POST /voices/clone``: a base64 clip, its MIME type, the voice's language and name."""

    audio: str = Field(min_length=1, max_length=MAX_CLIP_BASE64_CHARS)
    content_type: CloneContentType = Field(alias="contentType")
    language: VoiceLanguage
    name: Name

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        return data


class VoicePreviewRequest(StrictModel):
    """``POST /voices/preview``. ``model`` and ``volume`` apply to Cartesia only (the SDK
    says they are ignored for other providers), ``speed`` in the provider's range."""

    provider: VoiceProvider
    voice_id: str = Field(alias="voiceId", min_length=1, max_length=200)
    model: Literal["sonic-3", "sonic-3.5"] | None = None
    speed: Finite | None = None
    text: str | None = Field(default=None, max_length=MAX_PREVIEW_CHARS)
    volume: Finite | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        return data

    @model_validator(mode="after")
    def _ranges(self) -> VoicePreviewRequest:
        if not self.voice_id.strip():
            raise at("voiceId", "must not be empty")
        if self.text is not None and not self.text.strip():
            raise at("text", "must not be empty (leave it out for the default sentence)")
        low, high = VOICE_SPEED_RANGE[self.provider]
        if self.speed is not None and not low <= self.speed <= high:
            raise at("speed", f"must be between {low} and {high} for {self.provider}")
        vlow, vhigh = VOICE_VOLUME_RANGE
        if (
            self.provider == "cartesia"
            and self.volume is not None
            and not vlow <= self.volume <= vhigh
        ):
            raise at("volume", f"must be between {vlow} and {vhigh}")
        return self


class VoiceOut(WireModel):
    """``VoiceListResponse.Voice``."""

    id: str
    description: str
    language: VoiceLanguage
    name: str
    provider: VoiceProvider
    accent: str | None = None
    gender: str | None = None
    isCloned: bool | None = None


class VoiceList(WireModel):
    voices: list[VoiceOut]


class VoiceDetail(WireModel):
    id: str
    name: str
    description: str | None = None


class VoiceEnvelope(WireModel):
    """``VoiceRetrieveResponse``."""

    voice: VoiceDetail


class VoiceCloneOut(WireModel):
    """``VoiceCloneResponse``: ``id`` is ours, ``cartesiaVoiceId`` is what assistants use."""

    id: str
    cartesiaVoiceId: str
    createdAt: str
    language: str
    name: str


class VoiceDeleted(WireModel):
    success: bool


class LocalVoiceOut(WireModel):
    """A local voice (extension, not in the SDK): ``GET /voices/local``."""

    id: str
    name: str
    description: str
    language: str
    accent: str | None = None
    gender: str | None = None
    engine: str
    sampleRate: int
    formats: list[str]
    provider: Literal["local"] = "local"
    active: bool
    standsInFor: list[str]


class LocalVoiceList(WireModel):
    voices: list[LocalVoiceOut]
