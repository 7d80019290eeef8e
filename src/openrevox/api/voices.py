"""``/voices``: every method of ``client.voices`` in SDK 0.5.0, and ``GET /voices/local``
(an extension the SDK never calls: the offline voices). See docs/voices.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from openrevox.api.deps import Caller, Db
from openrevox.api.responses import WireJSON
from openrevox.config import Settings
from openrevox.schemas.assistant_parts import VoiceProvider
from openrevox.schemas.voices import (
    LocalVoiceList,
    VoiceCloneOut,
    VoiceCloneRequest,
    VoiceDeleted,
    VoiceEnvelope,
    VoiceList,
    VoicePreviewRequest,
)
from openrevox.services.voices import CatalogCache, VoiceService

router = APIRouter(prefix="/voices", tags=["voices"])
AUDIO_EXTENSIONS = {"audio/mpeg": "mp3", "audio/wav": "wav"}


def voice_service(request: Request, db: Db) -> VoiceService:
    """The app's voice service; its catalog cache lives as long as the app."""
    settings: Settings = request.app.state.settings
    cache = getattr(request.app.state, "voice_catalogs", None)
    if not isinstance(cache, CatalogCache):
        cache = CatalogCache(ttl=settings.voice_catalog_ttl_secs)
        request.app.state.voice_catalogs = cache
    return VoiceService(db, settings, cache)


Voices = Annotated[VoiceService, Depends(voice_service)]


@router.get("", response_model=VoiceList, response_class=WireJSON)
async def list_voices(caller: Caller, voices: Voices) -> WireJSON:
    """The organization's cloned voices, then the Cartesia and ElevenLabs catalogs of the
    providers whose keys are configured (cached ``OPENREVOX_VOICE_CATALOG_TTL_SECS``)."""
    return WireJSON({"voices": await voices.listing(caller)})


@router.post("/clone", response_model=VoiceCloneOut, response_class=WireJSON, status_code=201)
async def clone_voice(body: VoiceCloneRequest, caller: Caller, voices: Voices) -> WireJSON:
    """Clone a voice from a base64 clip through Cartesia; recorded for the organization."""
    return WireJSON(await voices.clone(caller, body), status_code=201)


@router.post(
    "/preview",
    response_class=Response,
    responses={200: {"content": {"audio/mpeg": {}, "audio/wav": {}}}},
)
async def preview_voice(
    body: VoicePreviewRequest, caller: Caller, voices: Voices, request: Request
) -> Response:
    """The text spoken by the voice, as an MP3 file: from Cartesia or ElevenLabs, or from
    the local voice when the provider has no key (``X-Voice-Engine`` says which). The local
    voice answers WAV to ``Accept: audio/wav``."""
    accept = request.headers.get("accept", "")
    wav = "audio/wav" in accept and "audio/mpeg" not in accept
    speech = await voices.preview(caller, body, wav=wav)
    extension = AUDIO_EXTENSIONS.get(speech.content_type, "bin")
    return Response(
        speech.audio,
        media_type=speech.content_type,
        headers={
            "X-Voice-Engine": speech.engine,
            "Content-Disposition": f'inline; filename="preview.{extension}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/local", response_model=LocalVoiceList, response_class=WireJSON)
async def local_voices(
    caller: Caller, voices: Voices, provider: VoiceProvider | None = None
) -> WireJSON:
    """Extension: the offline voices (piper). With ``provider`` this is the SDK's
    ``voices.retrieve("local", provider=...)``, answered as such."""
    if provider is not None:
        return WireJSON({"voice": (await voices.retrieve(caller, "local", provider)).to_wire()})
    return WireJSON({"voices": voices.local_voices()})


@router.get("/{voice_id}", response_model=VoiceEnvelope, response_class=WireJSON)
async def retrieve_voice(
    voice_id: str,
    caller: Caller,
    voices: Voices,
    provider: Annotated[VoiceProvider, Query()],
) -> WireJSON:
    """One voice by id and provider (a clone of another organization is not found)."""
    detail = await voices.retrieve(caller, voice_id, provider)
    return WireJSON({"voice": detail.to_wire()})


@router.delete("/{voice_id}", response_model=VoiceDeleted, response_class=WireJSON)
async def delete_voice(voice_id: str, caller: Caller, voices: Voices) -> WireJSON:
    """Delete one of the organization's cloned voices (at Cartesia too); 409 while an
    assistant uses it."""
    await voices.delete(caller, voice_id)
    return WireJSON({"success": True})
