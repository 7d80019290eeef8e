"""What a voice vendor adapter offers, the catalog entry, and vendor errors at the edge.

Adapters speak the vendor's REST API with ``httpx``; every failure is translated here
into one of our errors, whose messages name the setting to fix and never carry a key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from openrevox.errors import OpenrevoxError

# The SDK's Voice.language.
SUPPORTED_LANGUAGES = ("en", "fr", "es", "de", "it", "pt", "ru", "zh")
GENDERS = {
    "male": "male",
    "masculine": "male",
    "female": "female",
    "feminine": "female",
    "neutral": "neutral",
    "gender_neutral": "neutral",
    "non-binary": "neutral",
}
_MESSAGE_LIMIT = 300


class VoiceProviderError(OpenrevoxError):
    """A voice vendor failed us; nothing was changed on our side."""

    status_code = 502
    code = "voice_provider_error"


class VoiceProviderUnauthorized(VoiceProviderError):
    """The vendor refused our API key: the operator must fix a setting."""

    code = "voice_provider_unauthorized"


class VoiceProviderUnavailable(VoiceProviderError):
    """The vendor is down, timed out, or answered something we cannot read."""

    code = "voice_provider_unavailable"


class VoiceProviderRateLimited(VoiceProviderError):
    status_code = 503
    code = "voice_provider_rate_limited"


class VoiceProviderNotConfigured(OpenrevoxError):
    """The request needs a vendor whose key the server lacks (same code as calls use)."""

    status_code = 422
    code = "speech_not_configured"


@dataclass(frozen=True)
class CatalogVoice:
    """One voice of a vendor's catalog, already in the SDK's vocabulary.

    ``owned`` marks a voice of the vendor account itself (a clone made there), as
    opposed to the vendor's public library.
    """

    id: str
    name: str
    description: str
    language: str
    provider: str
    accent: str | None = None
    gender: str | None = None
    owned: bool = False

    def to_wire(self, *, cloned: bool = False) -> dict[str, Any]:
        """The SDK's ``VoiceListResponse.Voice``; optional fields left out when unknown."""
        wire: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "language": self.language,
            "provider": self.provider,
            "isCloned": cloned,
        }
        if self.accent:
            wire["accent"] = self.accent
        if self.gender:
            wire["gender"] = self.gender
        return wire


@dataclass(frozen=True)
class Speech:
    """Synthesised audio: the bytes as a file (``audio/mpeg`` or ``audio/wav``)."""

    audio: bytes
    content_type: str
    engine: str


@dataclass(frozen=True)
class ClonedVoiceInfo:
    """What the vendor says about a voice it just cloned."""

    id: str
    name: str
    language: str
    description: str | None


class VoiceVendor(Protocol):
    """A vendor adapter: its catalog, one voice, and speech for previews."""

    provider: str

    async def list_voices(self) -> list[CatalogVoice]: ...

    async def get_voice(self, voice_id: str) -> CatalogVoice | None: ...

    async def synthesize(
        self,
        voice_id: str,
        text: str,
        *,
        model: str | None,
        speed: float | None,
        volume: float | None,
    ) -> Speech: ...


def normalise_language(value: object) -> str | None:
    """``en``, ``EN``, ``en-US``, ``en_GB`` → ``en``; None for anything the SDK cannot name."""
    if not isinstance(value, str) or not value:
        return None
    code = value.replace("_", "-").split("-", 1)[0].lower()
    return code if code in SUPPORTED_LANGUAGES else None


def normalise_gender(value: object) -> str | None:
    return GENDERS.get(value.lower()) if isinstance(value, str) else None


class VendorHttp:
    """One vendor's REST API: base URL, auth headers, timeout, and error translation."""

    provider = "vendor"
    label = "vendor"
    key_setting = "OPENREVOX_VENDOR_API_KEY"

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout

    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    @property
    def identity(self) -> str:
        """Names this vendor account (provider, base URL, a digest of the key): a cache key
        that never holds the key itself."""
        digest = hashlib.sha256(self._api_key.encode()).hexdigest()[:16]
        return f"{self.provider}|{self.base_url}|{digest}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        accept_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one request. 2xx and ``accept_statuses`` are returned; 401/403, 429, 5xx,
        timeouts and connection failures raise our errors; other 4xx raise
        :class:`VoiceProviderError` with the vendor's message unless accepted."""
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.request(
                    method,
                    f"{self.base_url}{path}",
                    params=params,
                    json=json_body,
                    data=data,
                    files=files,
                    headers=self.headers(),
                )
        except httpx.TimeoutException:
            raise VoiceProviderUnavailable(
                f"{self.label} did not answer within {self._timeout:g} s; try again later"
            ) from None
        except httpx.HTTPError as exc:
            raise VoiceProviderUnavailable(
                f"{self.label} could not be reached ({type(exc).__name__}); try again later"
            ) from None
        status = response.status_code
        if 200 <= status < 300 or status in accept_statuses:
            return response
        if status in (401, 403):
            raise VoiceProviderUnauthorized(
                f"{self.label} refused the API key (HTTP {status}): check {self.key_setting}"
            )
        if status == 429:
            raise VoiceProviderRateLimited(f"{self.label} is rate limiting us; try again later")
        if status >= 500:
            raise VoiceProviderUnavailable(f"{self.label} failed (HTTP {status}); try again later")
        raise VoiceProviderError(
            f"{self.label} refused the request (HTTP {status}): {self.vendor_message(response)}"
        )

    def vendor_message(self, response: httpx.Response) -> str:
        """The vendor's own error text, short, with our key masked should it echo it."""
        text = response.text
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        message = _message_of(body) if body is not None else None
        message = (message or text or response.reason_phrase or "no details").strip()
        if self._api_key:
            message = message.replace(self._api_key, "***")
        return message[:_MESSAGE_LIMIT]

    async def get_optional(self, path: str) -> Any | None:
        """``GET`` one resource's JSON; None when the vendor says it does not exist."""
        response = await self.request("GET", path, accept_statuses=(400, 404))
        if response.status_code in (400, 404):
            return None
        return self.json_of(response)

    def json_of(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise VoiceProviderUnavailable(
                f"{self.label} answered something that is not JSON (HTTP {response.status_code})"
            ) from None


def _message_of(body: Any) -> str | None:
    if isinstance(body, str):
        return body
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail", "title"):
            if key in body:
                found = _message_of(body[key])
                if found:
                    return found
    return None
