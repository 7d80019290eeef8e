"""Voice use cases: the catalogs (cached), one voice, cloning, deleting, previews.

Vendor calls never run inside a database transaction (a slow vendor must not hold
SQLite's write lock), so these use cases open their own short transactions on the
``Database`` around the vendor calls. See docs/voices.md.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from openrevox.config import Settings
from openrevox.errors import Conflict, InvalidInput, NotFound, OpenrevoxError
from openrevox.providers.voices import local
from openrevox.providers.voices.base import (
    CatalogVoice,
    Speech,
    VoiceProviderNotConfigured,
)
from openrevox.providers.voices.cartesia import CartesiaVoices
from openrevox.providers.voices.elevenlabs import ElevenLabsVoices
from openrevox.schemas.voices import MAX_CLIP_BYTES, VoiceCloneRequest, VoicePreviewRequest
from openrevox.services.auth import Principal
from openrevox.services.wire_values import timestamp
from openrevox.storage.database import Database
from openrevox.storage.models import ClonedVoice, new_id, utcnow
from openrevox.storage.repositories import voices as repo

log = logging.getLogger("openrevox.voices")

DEFAULT_PREVIEW_TEXT = "Hello! This is a preview of my voice. How does it sound to you?"
CATALOG_PROVIDERS = ("cartesia", "elevenlabs")
# Unfinished calls that may still dial and speak (post_processing ones are done talking).
CALL_STATUSES_THAT_SPEAK = (
    "initializing",
    "not_launched",
    "scheduled",
    "queued_for_calling",
    "calling",
    "paused",
)
KEY_SETTINGS = {
    "cartesia": "OPENREVOX_CARTESIA_API_KEY",
    "elevenlabs": "OPENREVOX_ELEVENLABS_API_KEY",
    "gradium": "OPENREVOX_GRADIUM_API_KEY",
}


class VoiceProviderUnsupported(OpenrevoxError):
    status_code = 422
    code = "voice_provider_unsupported"


def vendor_for(settings: Settings, provider: str) -> CartesiaVoices | ElevenLabsVoices | None:
    """The adapter of ``provider`` when its key is configured."""
    timeout = settings.voice_provider_timeout_secs
    if provider == "cartesia" and (key := _secret(settings.cartesia_api_key)):
        return CartesiaVoices(settings.cartesia_base_url, key, timeout=timeout)
    if provider == "elevenlabs" and (key := _secret(settings.elevenlabs_api_key)):
        return ElevenLabsVoices(settings.elevenlabs_base_url, key, timeout=timeout)
    return None


def _secret(value: SecretStr | None) -> str | None:
    """A configured key; an empty one (``OPENREVOX_X_API_KEY=``) is no key."""
    secret = value.get_secret_value().strip() if value is not None else ""
    return secret or None


@dataclass
class _Entry:
    voices: list[CatalogVoice]
    fetched_at: float


@dataclass
class CatalogCache:
    """Each vendor's catalog, kept ``ttl`` seconds in this process; one fetch at a time
    per vendor (concurrent requests wait for it instead of each asking the vendor)."""

    ttl: float
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    fetches: int = 0

    def peek(self, vendor: CartesiaVoices | ElevenLabsVoices) -> list[CatalogVoice] | None:
        entry = self._entries.get(vendor.identity)
        return entry.voices if entry is not None and self._fresh(entry) else None

    async def get(self, vendor: CartesiaVoices | ElevenLabsVoices) -> list[CatalogVoice]:
        key = vendor.identity
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(key)
            if entry is not None and self._fresh(entry):
                return entry.voices
            self.fetches += 1
            voices = await vendor.list_voices()
            if self.ttl > 0:
                self._entries[key] = _Entry(voices, self.clock())
            return voices

    def invalidate(self, provider: str) -> None:
        for key in [k for k in self._entries if k.startswith(f"{provider}|")]:
            del self._entries[key]

    def _fresh(self, entry: _Entry) -> bool:
        return self.clock() - entry.fetched_at < self.ttl


@dataclass(frozen=True)
class VoiceDetail:
    id: str
    name: str
    description: str | None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.description is not None:
            wire["description"] = self.description
        return wire


class VoiceService:
    """The voices use cases for one app: its database, settings and catalog cache."""

    def __init__(self, db: Database, settings: Settings, cache: CatalogCache) -> None:
        self.db = db
        self.settings = settings
        self.cache = cache

    # ---- list ----

    async def listing(self, principal: Principal) -> list[dict[str, Any]]:
        """The organization's clones (newest first), then each configured vendor's
        catalog; clones recorded by openrevox show only to the organization that made
        them."""
        async with self.db.read() as session:
            own = await repo.live(session, principal.organization_id)
            recorded = {
                provider: await repo.recorded_ids(session, provider)
                for provider in CATALOG_PROVIDERS
            }
        result = [_clone_wire(row) for row in own]
        shown = {(row.provider, row.provider_voice_id) for row in own}
        configured = [
            vendor
            for vendor in (vendor_for(self.settings, p) for p in CATALOG_PROVIDERS)
            if vendor is not None
        ]
        # Both vendors are asked at once; either failing fails the list (docs/voices.md).
        catalogs = await asyncio.gather(*(self.cache.get(vendor) for vendor in configured))
        for vendor, catalog in zip(configured, catalogs, strict=True):
            for voice in catalog:
                key = (vendor.provider, voice.id)
                if voice.id in recorded[vendor.provider] or key in shown:
                    continue
                shown.add(key)
                result.append(voice.to_wire())
        return result

    def local_voices(self) -> list[dict[str, Any]]:
        """The extension ``GET /voices/local``: the offline voices and what they stand in
        for right now (providers without a key, when the fallback is on)."""
        fallback = self.settings.local_speech_fallback
        stands_in = [
            p for p in ("cartesia", "elevenlabs", "gradium") if vendor_for(self.settings, p) is None
        ]
        return [
            {**voice, "provider": "local", "active": fallback, "standsInFor": stands_in}
            for voice in local.LOCAL_VOICES
        ]

    # ---- retrieve ----

    async def retrieve(self, principal: Principal, voice_id: str, provider: str) -> VoiceDetail:
        _require_plausible(voice_id)
        async with self.db.read() as session:
            row = await repo.find(session, provider, voice_id)
            if row is None:
                row = await repo.live_by_id(session, principal.organization_id, voice_id)
                row = row if row is not None and row.provider == provider else None
        if row is not None:
            if row.organization_id != principal.organization_id or row.deleted_at is not None:
                raise NotFound(f"voice {voice_id!r} not found")
            return VoiceDetail(voice_id, row.name, row.description or "")
        vendor = self._vendor(provider)
        cached = self.cache.peek(vendor)
        found = next((v for v in cached or [] if v.id == voice_id), None)
        if found is None:
            found = await vendor.get_voice(voice_id)
        if found is None:
            raise NotFound(f"voice {voice_id!r} not found at {vendor.label}")
        return VoiceDetail(found.id, found.name, found.description)

    # ---- clone ----

    async def clone(self, principal: Principal, body: VoiceCloneRequest) -> dict[str, Any]:
        clip = decode_clip(body.audio)
        vendor = self._cartesia("cloning a voice")
        info = await vendor.clone(clip, body.content_type, name=body.name, language=body.language)
        row = ClonedVoice(
            id=new_id(),
            organization_id=principal.organization_id,
            provider="cartesia",
            provider_voice_id=info.id,
            name=body.name,
            language=body.language,
            description=(info.description or "").replace("\x00", "") or None,
            created_by_id=principal.user_id,
            created_at=utcnow(),
        )
        try:
            async with self.db.write() as session:
                repo.add(session, row)
        except BaseException:
            # Not recorded: do not leave an orphan voice in the shared Cartesia account.
            await _quietly(vendor.delete_voice(info.id))
            raise
        self.cache.invalidate("cartesia")
        log.info("voice cloned: %s (cartesia %s) for %s", row.id, info.id, row.organization_id)
        return {
            "id": row.id,
            "cartesiaVoiceId": info.id,
            "createdAt": timestamp(row.created_at),
            "language": row.language,
            "name": row.name,
        }

    # ---- delete ----

    async def delete(self, principal: Principal, voice_id: str) -> None:
        """Delete one of the organization's clones, at the vendor too; refused (409) while
        a live assistant's ``voice.id`` names it, or an unfinished call's snapshot does."""
        _require_plausible(voice_id, what="cloned voice")
        async with self.db.read() as session:
            row = await repo.live_by_id(session, principal.organization_id, voice_id)
            if row is None:
                raise NotFound(
                    f"cloned voice {voice_id!r} not found: only your organization's cloned "
                    "voices can be deleted"
                )
            users = [
                a
                for a in await repo.live_assistants(session, principal.organization_id)
                if _uses(a.config, row)
            ]
            calls = await repo.calls_speaking_with(
                session,
                principal.organization_id,
                [row.provider_voice_id, row.id],
                CALL_STATUSES_THAT_SPEAK,
            )
        if users:
            names = ", ".join(f"{a.name!r} ({a.id})" for a in users[:10])
            more = f" and {len(users) - 10} more" if len(users) > 10 else ""
            raise Conflict(
                f"voice {row.name!r} is used by assistant(s) {names}{more}: give them another "
                "voice before deleting it"
            )
        if calls:
            noun = "call" if calls == 1 else "calls"
            raise Conflict(
                f"voice {row.name!r} is used by {calls} unfinished {noun} (their assistant "
                "snapshot): cancel them or let them finish before deleting it"
            )
        vendor = self._cartesia("deleting a cloned voice")
        existed = await vendor.delete_voice(row.provider_voice_id)
        if not existed:
            log.info("voice %s was already gone at Cartesia", row.provider_voice_id)
        async with self.db.write() as session:
            stored = await session.get(ClonedVoice, row.id)
            if stored is not None and stored.deleted_at is None:
                stored.deleted_at = utcnow()
        self.cache.invalidate(row.provider)

    # ---- preview ----

    async def preview(
        self, principal: Principal, body: VoicePreviewRequest, *, wav: bool = False
    ) -> Speech:
        """The text spoken by the voice: the vendor's when its key is set (MP3), else the
        local voice when the fallback is on (MP3, or WAV when ``wav``)."""
        text = (body.text if body.text is not None else DEFAULT_PREVIEW_TEXT).strip()
        voice_id = body.voice_id
        async with self.db.read() as session:
            row = await repo.find(session, body.provider, voice_id)
            if row is None:  # our id of one of the organization's clones
                own = await repo.live_by_id(session, principal.organization_id, voice_id)
                if own is not None and own.provider == body.provider:
                    voice_id = own.provider_voice_id
        if row is not None and (
            row.organization_id != principal.organization_id or row.deleted_at is not None
        ):
            raise NotFound(f"voice {body.voice_id!r} not found")
        cartesia = body.provider == "cartesia"
        vendor = vendor_for(self.settings, body.provider)
        if vendor is not None:
            return await vendor.synthesize(
                voice_id,
                text,
                model=body.model if cartesia else None,
                speed=body.speed,
                volume=body.volume if cartesia else None,
            )
        key_setting = KEY_SETTINGS[body.provider]
        if body.provider == "gradium" and _secret(self.settings.gradium_api_key):
            raise VoiceProviderUnsupported("previews of gradium voices are not supported yet")
        if not self.settings.local_speech_fallback:
            raise VoiceProviderNotConfigured(
                f"voice provider {body.provider!r} needs {key_setting} "
                "(or OPENREVOX_LOCAL_SPEECH_FALLBACK=true to preview with the local voice)"
            )
        return await local.synthesize(
            text,
            speed=body.speed or 1.0,
            volume=(body.volume if cartesia else None) or 1.0,
            wav=wav,
        )

    # ---- helpers ----

    def _cartesia(self, purpose: str) -> CartesiaVoices:
        vendor = vendor_for(self.settings, "cartesia")
        if not isinstance(vendor, CartesiaVoices):
            raise VoiceProviderNotConfigured(f"{purpose} needs {KEY_SETTINGS['cartesia']}")
        return vendor

    def _vendor(
        self, provider: str, *, purpose: str = "looking voices up"
    ) -> CartesiaVoices | ElevenLabsVoices:
        vendor = vendor_for(self.settings, provider)
        if vendor is not None:
            return vendor
        if provider not in CATALOG_PROVIDERS:
            raise VoiceProviderUnsupported(f"openrevox has no {provider} voice catalog")
        raise VoiceProviderNotConfigured(
            f"{purpose} with {provider} needs {KEY_SETTINGS[provider]}"
        )


async def _quietly(action: Awaitable[object]) -> None:
    try:
        await action
    except Exception:
        log.warning("could not undo a Cartesia clone", exc_info=True)


def _require_plausible(voice_id: str, *, what: str = "voice") -> None:
    """An id that can name no voice (too long, control characters) is not found, without a
    query (PostgreSQL refuses NUL in text)."""
    if len(voice_id) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in voice_id):
        raise NotFound(f"{what} {voice_id[:50]!r} not found")


def decode_clip(audio: str) -> bytes:
    """The clip's bytes from base64 (a ``data:`` URL prefix and whitespace are allowed)."""
    text = audio.strip()
    if text.startswith("data:"):
        text = text.partition(",")[2]
    text = "".join(text.split())
    try:
        clip = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput.at("audio", "is not valid base64") from None
    if not clip:
        raise InvalidInput.at("audio", "is empty")
    if len(clip) > MAX_CLIP_BYTES:
        raise InvalidInput.at(
            "audio", f"is {len(clip)} bytes decoded; the limit is {MAX_CLIP_BYTES} (7.5 MiB)"
        )
    return clip


def _uses(config: Any, row: ClonedVoice) -> bool:
    voice = config.get("voice") if isinstance(config, dict) else None
    if not isinstance(voice, dict):
        return False
    provider = voice.get("provider")
    return voice.get("id") in (row.provider_voice_id, row.id) and provider in (None, row.provider)


def _clone_wire(row: ClonedVoice) -> dict[str, Any]:
    return {
        "id": row.provider_voice_id,
        "name": row.name,
        "description": row.description or "",
        "language": row.language,
        "provider": row.provider,
        "isCloned": True,
    }
