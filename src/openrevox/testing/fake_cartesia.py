"""A local fake of Cartesia's REST API (voices, cloning, TTS bytes), for tests.

Real HTTP on loopback (a threaded server). It checks ``X-API-Key`` (or ``Authorization:
Bearer``) and the ``Cartesia-Version`` header like Cartesia does, and records every
request::

    with FakeCartesia(api_key="sk_car_test") as cartesia:
        settings = Settings(cartesia_base_url=cartesia.base_url,
                            cartesia_api_key="sk_car_test")
        ...
        assert cartesia.requests[0].path == "/voices"

Endpoints: ``GET /voices`` (paginated: ``limit`` 1-100, capped at ``max_page_size``,
``starting_after``; answers ``{"data", "has_more", "next_page"}``), ``GET /voices/{id}``,
``DELETE /voices/{id}`` (204), ``POST /voices/clone`` (multipart: ``clip``, ``name``,
``language``; the new voice joins the catalog with ``is_owner: true``) and
``POST /tts/bytes`` (JSON; answers a silent MP3 or WAV whose length follows the
transcript and ``generation_config.speed``). Unknown voices are 404
``{"error": "Voice not found"}``; a bad key is 401.

Scripted failures: ``fail_next(VendorFailure(503))`` answers the next requests in order
(optionally only those whose path starts with ``path_prefix``); ``delay`` stalls
every answer (timeouts).
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import threading
import time
import uuid
import wave
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from openrevox.testing.loopback import LoopbackServer

__all__ = [
    "DEFAULT_CARTESIA_VOICES",
    "FakeCartesia",
    "UploadedFile",
    "VendorFailure",
    "VendorRequest",
    "mp3_duration",
    "silent_mp3",
]

CARTESIA_LANGUAGES = frozenset(
    {"en", "fr", "de", "es", "pt", "zh", "ja", "hi", "it", "ko", "nl", "pl", "ru", "sv", "tr"}
)
CARTESIA_MODELS = frozenset({"sonic-3", "sonic-3.5", "sonic-2", "sonic-turbo", "sonic"})
DEFAULT_CARTESIA_VOICES: tuple[dict[str, Any], ...] = (
    {
        "id": "a0e99841-438c-4a64-b679-ae501e7d6091",
        "name": "Barbershop Man",
        "description": "A rich, smooth male voice for a friendly conversation.",
        "language": "en",
        "gender": "masculine",
        "is_owner": False,
        "is_public": True,
    },
    {
        "id": "79a125e8-cd45-4c13-8a67-188112f4dd22",
        "name": "British Lady",
        "description": "An elegant female voice with a British accent.",
        "language": "en",
        "gender": "feminine",
        "is_owner": False,
        "is_public": True,
    },
    {
        "id": "ab7c61f5-3daa-47dd-a23b-4ac0aac5f5c3",
        "name": "Friendly French Man",
        "description": "A warm French male voice.",
        "language": "fr",
        "gender": "masculine",
        "is_owner": False,
        "is_public": True,
    },
    {
        "id": "59d4fd2f-f5eb-4410-8105-58db7661144f",
        "name": "Yumiko",
        "description": "A calm Japanese female voice.",
        "language": "ja",
        "gender": "feminine",
        "is_owner": False,
        "is_public": True,
    },
)

# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono, no CRC: 417-byte frames of 1152 samples.
# With zeroed side information a frame decodes as silence.
_MP3_HEADER = bytes([0xFF, 0xFB, 0x90, 0xC0])
_MP3_FRAME_BYTES = 417
_MP3_FRAME_SECS = 1152 / 44100


def silent_mp3(seconds: float) -> bytes:
    """A valid MP3 stream of silence lasting about ``seconds``."""
    frames = max(1, round(seconds / _MP3_FRAME_SECS))
    frame = _MP3_HEADER + bytes(_MP3_FRAME_BYTES - len(_MP3_HEADER))
    return frame * frames


def mp3_duration(data: bytes) -> float:
    """Seconds in an MPEG Layer III stream (MPEG-1, 2 or 2.5; a leading ID3v2 tag and a
    trailing ID3v1 tag are skipped); raises ``ValueError`` when ``data`` is not one."""
    position, seconds, frames = 0, 0.0, 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        position = 10 + size
    while position + 4 <= len(data):
        if data[position : position + 3] == b"TAG" and len(data) - position == 128:
            break
        header = data[position : position + 4]
        version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
        if header[0] != 0xFF or (header[1] & 0xE0) != 0xE0 or version == 1 or layer != 1:
            raise ValueError(f"no MPEG Layer III frame at byte {position}")
        bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 3
        if not 0 < bitrate_index < 15 or rate_index == 3:
            raise ValueError(f"bad frame header at byte {position}")
        mpeg1 = version == 3
        rate = _MP3_RATES[version][rate_index]
        bitrate = (_MP3_BITRATES_V1 if mpeg1 else _MP3_BITRATES_V2)[bitrate_index] * 1000
        padding = (header[2] >> 1) & 1
        position += (144 if mpeg1 else 72) * bitrate // rate + padding
        seconds += (1152 if mpeg1 else 576) / rate
        frames += 1
    if frames == 0:
        raise ValueError("no MP3 frames")
    return seconds


_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_MP3_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


def speech_seconds(text: str, speed: float | None) -> float:
    """How long the fake says ``text`` takes: 0.35 s a word at speed 1."""
    return max(0.3, 0.35 * len(text.split()) / (speed or 1.0))


def silent_wav(seconds: float, sample_rate: int = 44100) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(bytes(2 * int(seconds * sample_rate)))
    return buffer.getvalue()


@dataclass(frozen=True)
class VendorFailure:
    """An answer instead of the normal one: ``status`` with ``body`` (JSON when a dict,
    raw text otherwise), for requests whose path starts with ``path_prefix`` (all when
    None)."""

    status: int = 500
    body: dict[str, Any] | str = field(default_factory=lambda: {"error": "internal error"})
    path_prefix: str | None = None


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class VendorRequest:
    """One request received: method, path, query, headers (lower-case names), and the
    JSON body or the multipart form fields and files."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def json_answer(status: int, payload: Any) -> Answer:
    return Answer(status, json.dumps(payload).encode())


def parse_multipart(
    content_type: str, raw: bytes
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """The fields and files of a ``multipart/form-data`` body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    form: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    if not message.is_multipart():
        return form, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            form[name] = data.decode()
    return form, files


class FakeVendor(LoopbackServer):
    """What the fake vendors share: recording, scripted failures, a delay, and dispatch
    to ``answer(request)``."""

    def __init__(self) -> None:
        self.requests: list[VendorRequest] = []
        self.failures: list[VendorFailure] = []
        self.delay = 0.0
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.origin

    def fail_next(self, *failures: VendorFailure) -> None:
        """The next matching requests get these answers, in order."""
        with self._lock:
            self.failures.extend(failures)

    def requests_to(self, method: str, path_prefix: str) -> list[VendorRequest]:
        with self._lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    def receive(self, request: VendorRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
            for index, failure in enumerate(self.failures):
                if failure.path_prefix is None or request.path.startswith(failure.path_prefix):
                    del self.failures[index]
                    if isinstance(failure.body, str):
                        return Answer(failure.status, failure.body.encode(), "text/plain")
                    return json_answer(failure.status, failure.body)
            return self.answer(request)

    def answer(self, request: VendorRequest) -> Answer:
        raise NotImplementedError


class FakeCartesia(FakeVendor):
    """Cartesia's voices and TTS bytes endpoints on ``127.0.0.1``; a (sync) context manager."""

    server_name = "fake Cartesia"

    def __init__(
        self,
        api_key: str = "sk_car_fake",
        voices: Iterable[Mapping[str, Any]] = DEFAULT_CARTESIA_VOICES,
        *,
        max_page_size: int = 100,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.max_page_size = max_page_size
        self.voices: dict[str, dict[str, Any]] = {}
        for voice in voices:
            self.add_voice(voice)
        self.deleted: list[str] = []
        self.syntheses: list[dict[str, Any]] = []

    def add_voice(self, voice: Mapping[str, Any]) -> dict[str, Any]:
        entry = {
            "description": "",
            "gender": None,
            "is_owner": False,
            "is_public": True,
            "created_at": "2025-01-01T00:00:00Z",
            **voice,
        }
        self.voices[str(entry["id"])] = entry
        return entry

    def answer(self, request: VendorRequest) -> Answer:
        key = request.headers.get("x-api-key") or request.headers.get(
            "authorization", ""
        ).removeprefix("Bearer ")
        if key != self.api_key:
            return json_answer(401, {"error": "Invalid API key"})
        if not request.headers.get("cartesia-version"):
            return json_answer(400, {"error": "Cartesia-Version header is required"})
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if request.method == "GET" and parts == ["voices"]:
            return self._list(request)
        if request.method == "POST" and parts == ["voices", "clone"]:
            return self._clone(request)
        if request.method == "POST" and parts == ["tts", "bytes"]:
            return self._tts(request)
        if len(parts) == 2 and parts[0] == "voices" and request.method in ("GET", "DELETE"):
            voice = self.voices.get(parts[1])
            if voice is None:
                return json_answer(404, {"error": "Voice not found"})
            if request.method == "GET":
                return json_answer(200, voice)
            del self.voices[parts[1]]
            self.deleted.append(parts[1])
            return Answer(204)
        return json_answer(404, {"error": "Not found"})

    def _list(self, request: VendorRequest) -> Answer:
        try:
            limit = int(request.query.get("limit", "10"))
        except ValueError:
            return json_answer(400, {"error": "limit must be an integer"})
        if not 1 <= limit <= 100:
            return json_answer(400, {"error": "limit must be between 1 and 100"})
        ids = list(self.voices)
        start = 0
        after = request.query.get("starting_after")
        if after:
            if after not in self.voices:
                return json_answer(400, {"error": "starting_after: unknown voice"})
            start = ids.index(after) + 1
        page = ids[start : start + min(limit, self.max_page_size)]
        more = start + len(page) < len(ids)
        return json_answer(
            200,
            {
                "data": [self.voices[i] for i in page],
                "has_more": more,
                "next_page": page[-1] if more and page else None,
            },
        )

    def _clone(self, request: VendorRequest) -> Answer:
        clip = request.files.get("clip")
        name = request.form.get("name", "").strip()
        language = request.form.get("language", "")
        if clip is None or not clip.data:
            return json_answer(400, {"error": "clip is required"})
        if len(clip.data) < 16:
            return json_answer(400, {"error": "clip is too short to clone"})
        if not name:
            return json_answer(400, {"error": "name is required"})
        if language not in CARTESIA_LANGUAGES:
            return json_answer(400, {"error": f"unsupported language: {language!r}"})
        voice = self.add_voice(
            {
                "id": str(uuid.uuid4()),
                "name": name,
                "description": request.form.get("description", ""),
                "language": language,
                "is_owner": True,
                "is_public": False,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
        return json_answer(200, voice)

    def _tts(self, request: VendorRequest) -> Answer:
        body = mapping(request.json)
        transcript = body.get("transcript")
        voice = mapping(body.get("voice"))
        output = mapping(body.get("output_format"))
        if body.get("model_id") not in CARTESIA_MODELS:
            return json_answer(400, {"error": f"unknown model_id: {body.get('model_id')!r}"})
        if not isinstance(transcript, str) or not transcript.strip():
            return json_answer(400, {"error": "transcript is required"})
        if voice.get("mode") != "id" or not isinstance(voice.get("id"), str):
            return json_answer(400, {"error": "voice must be {mode: id, id}"})
        if voice["id"] not in self.voices:
            return json_answer(404, {"error": "Voice not found"})
        generation = body.get("generation_config")
        speed = generation.get("speed") if isinstance(generation, Mapping) else None
        seconds = speech_seconds(transcript, speed)
        self.syntheses.append(dict(body))
        if output.get("container") == "mp3":
            return Answer(200, silent_mp3(seconds), "audio/mpeg")
        if output.get("container") == "wav":
            return Answer(
                200, silent_wav(seconds, int(output.get("sample_rate") or 44100)), "audio/wav"
            )
        return json_answer(400, {"error": "output_format.container must be mp3, wav or raw"})


def _make_handler(fake: FakeVendor) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            url = urlsplit(self.path)
            content_type = headers.get("content-type", "")
            body: Any = None
            form: dict[str, str] = {}
            files: dict[str, UploadedFile] = {}
            if content_type.startswith("multipart/form-data"):
                form, files = parse_multipart(content_type, raw)
            elif raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(json_answer(400, {"error": "invalid JSON"}))
                    return
            request = VendorRequest(
                self.command, url.path, dict(parse_qsl(url.query)), headers, body, form, files
            )
            if fake.delay:
                time.sleep(fake.delay)
            self._send(fake.receive(request))

        def _send(self, answer: Answer) -> None:
            self.send_response(answer.status)
            if answer.status != 204:
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.body:
                self.wfile.write(answer.body)

    return _Handler
