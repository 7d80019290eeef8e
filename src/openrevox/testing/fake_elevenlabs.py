"""A local fake of ElevenLabs' REST API (voices, text to speech), for tests.

Real HTTP on loopback (a threaded server). It checks ``xi-api-key`` like ElevenLabs
does and records every request::

    with FakeElevenLabs(api_key="xi-test") as elevenlabs:
        settings = Settings(elevenlabs_base_url=elevenlabs.base_url,
                            elevenlabs_api_key="xi-test")

Endpoints: ``GET /v1/voices`` (``{"voices": [...]}``), ``GET /v1/voices/{voice_id}``,
``POST /v1/text-to-speech/{voice_id}?output_format=mp3_44100_128`` (JSON ``text``,
``model_id``, ``voice_settings``; answers a silent MP3 whose length follows the text and
``voice_settings.speed``). Errors have ElevenLabs' shape, ``{"detail": {"status",
"message"}}``: ``invalid_api_key`` (401), ``voice_not_found`` (404). Scripted failures
and delays as in :mod:`openrevox.testing.fake_cartesia`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from openrevox.testing.fake_cartesia import (
    Answer,
    FakeVendor,
    VendorFailure,
    VendorRequest,
    json_answer,
    silent_mp3,
    speech_seconds,
)

__all__ = ["DEFAULT_ELEVENLABS_VOICES", "FakeElevenLabs", "VendorFailure"]

DEFAULT_ELEVENLABS_VOICES: tuple[dict[str, Any], ...] = (
    {
        "voice_id": "21m00Tcm4TlvDq8ikWAM",
        "name": "Rachel",
        "category": "premade",
        "description": "Matter-of-fact, personable woman. Great for conversational use cases.",
        "labels": {"accent": "american", "gender": "female", "age": "young"},
        "verified_languages": [{"language": "en", "model_id": "eleven_multilingual_v2"}],
    },
    {
        "voice_id": "JBFqnCBsd6RMkjVDRZzb",
        "name": "George",
        "category": "premade",
        "description": None,
        "labels": {"accent": "british", "gender": "male", "description": "warm storyteller"},
    },
    {
        "voice_id": "XrExE9yKIg1WjnnlVkGX",
        "name": "Matilda",
        "category": "premade",
        "description": "Knowledgable, professional",
        "labels": {"accent": "american", "gender": "female"},
        "verified_languages": [{"language": "es", "model_id": "eleven_multilingual_v2"}],
    },
    {
        "voice_id": "hindi0000000000000001",
        "name": "Aarav",
        "category": "premade",
        "description": "A Hindi voice",
        "labels": {"gender": "male"},
        "verified_languages": [{"language": "hi", "model_id": "eleven_multilingual_v2"}],
    },
)
MODELS = frozenset(
    {
        "eleven_flash_v2_5",
        "eleven_flash_v2",
        "eleven_turbo_v2_5",
        "eleven_turbo_v2",
        "eleven_multilingual_v2",
        "eleven_v3",
    }
)


def _error(status: int, code: str, message: str) -> Answer:
    return json_answer(status, {"detail": {"status": code, "message": message}})


class FakeElevenLabs(FakeVendor):
    """ElevenLabs' voices and TTS endpoints on ``127.0.0.1``; a (sync) context manager."""

    server_name = "fake ElevenLabs"

    def __init__(
        self,
        api_key: str = "xi-fake-key",
        voices: Iterable[Mapping[str, Any]] = DEFAULT_ELEVENLABS_VOICES,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.voices: dict[str, dict[str, Any]] = {str(v["voice_id"]): dict(v) for v in voices}
        self.syntheses: list[dict[str, Any]] = []

    def answer(self, request: VendorRequest) -> Answer:
        if request.headers.get("xi-api-key") != self.api_key:
            return _error(401, "invalid_api_key", "Invalid API key")
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if request.method == "GET" and parts == ["v1", "voices"]:
            return json_answer(200, {"voices": list(self.voices.values()), "has_more": False})
        if request.method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "voices"]:
            voice = self.voices.get(parts[2])
            if voice is None:
                return _error(404, "voice_not_found", f"A voice with id {parts[2]} was not found.")
            return json_answer(200, voice)
        if request.method == "POST" and len(parts) == 3 and parts[:2] == ["v1", "text-to-speech"]:
            return self._tts(parts[2], request)
        return json_answer(404, {"detail": "Not Found"})

    def _tts(self, voice_id: str, request: VendorRequest) -> Answer:
        body = request.json if isinstance(request.json, Mapping) else {}
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return json_answer(
                422, {"detail": [{"loc": ["body", "text"], "msg": "field required"}]}
            )
        if body.get("model_id", "eleven_multilingual_v2") not in MODELS:
            return _error(400, "model_not_found", f"model {body.get('model_id')!r} not found")
        if voice_id not in self.voices:
            return _error(404, "voice_not_found", f"A voice with id {voice_id} was not found.")
        output = request.query.get("output_format", "mp3_44100_128")
        if not output.startswith("mp3_"):
            return _error(400, "invalid_output_format", "this fake only speaks mp3_* formats")
        settings = body.get("voice_settings")
        speed = settings.get("speed") if isinstance(settings, Mapping) else None
        self.syntheses.append({"voice_id": voice_id, **body, "output_format": output})
        return Answer(200, silent_mp3(speech_seconds(text, speed)), "audio/mpeg")
