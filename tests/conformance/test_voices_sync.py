"""``client.voices`` (SDK 0.5.0, sync client, strict validation): list, retrieve, clone,
delete, preview, against a real ``openrevox serve`` whose Cartesia and ElevenLabs are the
shipped fakes on loopback; and preview offline with the local voice. Older SDKs read the
same list, voice and preview in their own interpreters."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import wave
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from revox import (
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    Revox,
    UnprocessableEntityError,
)

from openrevox.testing.fake_cartesia import FakeCartesia, VendorFailure, mp3_duration
from openrevox.testing.fake_elevenlabs import FakeElevenLabs
from openrevox.testing.postgres import admin_url, reachable, scratch_database
from openrevox.testing.server import create_key, running_server

CARTESIA_KEY = "sk_car_conformance_secret"
ELEVENLABS_KEY = "xi-conformance-secret"
BARBER = "a0e99841-438c-4a64-b679-ae501e7d6091"
RACHEL = "21m00Tcm4TlvDq8ikWAM"
CLIP = base64.b64encode(b"RIFF" + bytes(6000)).decode()
SDK_ROOT = Path(__file__).resolve().parents[2] / ".sdk"


@dataclass(frozen=True)
class VoiceServer:
    base_url: str
    key: str
    other_key: str
    cartesia: FakeCartesia
    elevenlabs: FakeElevenLabs


@contextmanager
def _own_server(database_url: str, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """``running_server`` and a key of the organization acme, checked to be answered by
    *this* process: the free port it picks may be taken by another server started on
    the machine meanwhile (then this one exits and the other answers); start again."""
    for _ in range(3):
        with ExitStack() as stack:
            server = stack.enter_context(running_server(database_url, env=env, startup_timeout=90))
            key = create_key(database_url, "acme", "owner@acme.test")
            status = httpx.get(
                f"{server.base_url}/auth-status",
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            ).status_code
            if status == 200 and server.process.poll() is None:
                yield server.base_url, key
                return
    raise RuntimeError("could not start an openrevox server of our own (port taken?)")


@contextmanager
def _serve(database_url: str) -> Iterator[VoiceServer]:
    with (
        FakeCartesia(api_key=CARTESIA_KEY) as cartesia,
        FakeElevenLabs(api_key=ELEVENLABS_KEY) as elevenlabs,
    ):
        env = {
            "OPENREVOX_CARTESIA_API_KEY": CARTESIA_KEY,
            "OPENREVOX_CARTESIA_BASE_URL": cartesia.base_url,
            "OPENREVOX_ELEVENLABS_API_KEY": ELEVENLABS_KEY,
            "OPENREVOX_ELEVENLABS_BASE_URL": elevenlabs.base_url,
        }
        with _own_server(database_url, env) as (base_url, key):
            other_key = create_key(database_url, "globex", "owner@globex.test")
            yield VoiceServer(base_url, key, other_key, cartesia, elevenlabs)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
async def voice_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[VoiceServer]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("voices") / "openrevox.db"
        with _serve(f"sqlite+aiosqlite:///{path}") as server:
            yield server
        return
    problem = await reachable()
    if problem is not None:
        pytest.skip(f"PostgreSQL not reachable at {admin_url()}: {problem}")
    async with scratch_database() as url:
        with _serve(url) as server:
            yield server


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server with no voice vendor configured: the local voice speaks."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('offline') / 'openrevox.db'}"
    env = {
        "OPENREVOX_CARTESIA_API_KEY": "",
        "OPENREVOX_ELEVENLABS_API_KEY": "",
        "OPENREVOX_GRADIUM_API_KEY": "",
        "OPENREVOX_LOCAL_SPEECH_FALLBACK": "true",
    }
    with _own_server(url, env) as (base_url, key):
        yield base_url, key


def sdk(base_url: str, key: str) -> Revox:
    return Revox(api_key=key, base_url=base_url, max_retries=0, _strict_response_validation=True)


@pytest.fixture
def client(voice_server: VoiceServer) -> Iterator[Revox]:
    with sdk(voice_server.base_url, voice_server.key) as revox:
        yield revox


@pytest.fixture
def other_client(voice_server: VoiceServer) -> Iterator[Revox]:
    with sdk(voice_server.base_url, voice_server.other_key) as revox:
        yield revox


def test_list_returns_both_catalogs(client: Revox) -> None:
    voices = client.voices.list().voices
    by_id = {v.id: v for v in voices}
    assert by_id[BARBER].provider == "cartesia" and by_id[BARBER].name == "Barbershop Man"
    assert by_id[BARBER].gender == "male" and by_id[BARBER].is_cloned is False
    assert by_id[RACHEL].provider == "elevenlabs" and by_id[RACHEL].accent == "american"
    assert {v.language for v in voices} <= {"en", "fr", "es", "de", "it", "pt", "ru", "zh"}
    assert {v.name for v in voices} >= {"Friendly French Man", "George", "Matilda"}
    assert "Yumiko" not in {v.name for v in voices}  # Japanese: no SDK language for it


def test_retrieve_by_id_and_provider(client: Revox) -> None:
    voice = client.voices.retrieve(RACHEL, provider="elevenlabs").voice
    assert (voice.id, voice.name) == (RACHEL, "Rachel")
    assert voice.description is not None and voice.description.startswith("Matter-of-fact")
    assert client.voices.retrieve(BARBER, provider="cartesia").voice.name == "Barbershop Man"
    with pytest.raises(NotFoundError):
        client.voices.retrieve("no-such-voice", provider="cartesia")


def test_clone_list_retrieve_delete(
    client: Revox, other_client: Revox, voice_server: VoiceServer
) -> None:
    cloned = client.voices.clone(
        audio=CLIP, content_type="audio/wav", language="de", name="Conformance Clone"
    )
    assert cloned.name == "Conformance Clone" and cloned.language == "de"
    assert cloned.cartesia_voice_id in voice_server.cartesia.voices
    listed = client.voices.list().voices
    assert listed[0].id == cloned.cartesia_voice_id and listed[0].is_cloned is True
    assert cloned.cartesia_voice_id not in {v.id for v in other_client.voices.list().voices}
    voice = client.voices.retrieve(cloned.cartesia_voice_id, provider="cartesia").voice
    assert voice.name == "Conformance Clone"
    with pytest.raises(NotFoundError):
        other_client.voices.retrieve(cloned.cartesia_voice_id, provider="cartesia")
    with pytest.raises(NotFoundError):
        other_client.voices.delete(cloned.id)

    assistant = client.assistants.create(
        name="Uses the clone",
        prompt="p",
        voice={"id": cloned.cartesia_voice_id, "provider": "cartesia"},
    ).assistant
    with pytest.raises(ConflictError) as refused:
        client.voices.delete(cloned.id)
    assert "Uses the clone" in str(refused.value.body)
    client.assistants.delete(assistant.id)

    assert client.voices.delete(cloned.id).success is True
    assert cloned.cartesia_voice_id in voice_server.cartesia.deleted
    assert cloned.cartesia_voice_id not in {v.id for v in client.voices.list().voices}
    with pytest.raises(NotFoundError):
        client.voices.delete(cloned.id)


def test_clone_bad_input(client: Revox) -> None:
    with pytest.raises(BadRequestError) as bad:
        client.voices.clone(audio="%%%", content_type="audio/wav", language="en", name="Bad")
    assert "base64" in str(bad.value.body)


def test_preview_through_the_vendors(client: Revox, voice_server: VoiceServer) -> None:
    assert client.voices.preview(provider="cartesia", voice_id=BARBER) is None
    raw = client.voices.with_raw_response.preview(
        provider="cartesia",
        voice_id=BARBER,
        model="sonic-3.5",
        speed=0.6,
        volume=1.5,
        text="Four words right here.",
    )
    assert raw.headers["content-type"] == "audio/mpeg"
    assert mp3_duration(raw.http_response.content) == pytest.approx(4 * 0.35 / 0.6, abs=0.05)
    sent = voice_server.cartesia.syntheses[-1]
    assert sent["generation_config"] == {"speed": 0.6, "volume": 1.5}
    assert sent["model_id"] == "sonic-3.5"
    raw = client.voices.with_raw_response.preview(provider="elevenlabs", voice_id=RACHEL, speed=1.2)
    assert raw.headers["x-voice-engine"] == "elevenlabs"
    assert mp3_duration(raw.http_response.content) > 0.5


def test_preview_errors(client: Revox, voice_server: VoiceServer) -> None:
    with pytest.raises(BadRequestError):
        client.voices.preview(provider="cartesia", voice_id=BARBER, text="")
    with pytest.raises(BadRequestError):
        client.voices.preview(provider="cartesia", voice_id=BARBER, text="word " * 200)
    with pytest.raises(BadRequestError):
        client.voices.preview(provider="elevenlabs", voice_id=RACHEL, speed=1.5)
    with pytest.raises(NotFoundError):
        client.voices.preview(provider="elevenlabs", voice_id="unknown-voice")
    voice_server.cartesia.fail_next(VendorFailure(503, "down", path_prefix="/tts"))
    with pytest.raises(InternalServerError) as down:
        client.voices.preview(provider="cartesia", voice_id=BARBER)
    assert down.value.status_code == 502
    assert CARTESIA_KEY not in str(down.value.body)


def test_preview_offline_is_spoken_by_the_local_voice(offline_server: tuple[str, str]) -> None:
    base_url, key = offline_server
    with sdk(base_url, key) as client:
        assert client.voices.list().voices == []
        raw = client.voices.with_raw_response.preview(
            provider="elevenlabs", voice_id=RACHEL, text="Good morning, how are you today?"
        )
        assert raw.headers["content-type"] == "audio/mpeg"
        assert raw.headers["x-voice-engine"] == "local-piper"
        assert 1.0 < mp3_duration(raw.http_response.content) < 5.0
        wav = client.voices.with_raw_response.preview(
            provider="cartesia",
            voice_id=BARBER,
            text="Good morning.",
            extra_headers={"Accept": "audio/wav"},
        )
        audio = wav.http_response.content
        assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
        with wave.open(io.BytesIO(audio)) as samples:
            assert 0.4 < samples.getnframes() / samples.getframerate() < 3.0
        with pytest.raises(UnprocessableEntityError) as needs_key:
            client.voices.clone(audio=CLIP, content_type="audio/wav", language="en", name="X")
        assert "OPENREVOX_CARTESIA_API_KEY" in str(needs_key.value.body)


OLDER_FLOW = """
import json, sys
from revox import Revox
import revox
base_url, key, cartesia_id, elevenlabs_id, clip = sys.argv[1:6]
client = Revox(api_key=key, base_url=base_url, max_retries=0, _strict_response_validation=True)
voices = client.voices.list().voices
voice = client.voices.retrieve(elevenlabs_id, provider="elevenlabs").voice
client.voices.preview(provider="cartesia", voice_id=cartesia_id)
cloned = None
if hasattr(client.voices, "clone"):  # SDK 0.3.0 and later
    clone = client.voices.clone(audio=clip, content_type="audio/wav", language="en", name="Old")
    cloned = clone.cartesia_voice_id
    assert client.voices.list().voices[0].id == cloned
    assert client.voices.delete(clone.id).success is True
print(json.dumps({"version": revox.__version__, "count": len(voices), "name": voice.name,
                  "cloned": cloned}))
"""


@pytest.mark.parametrize("version", ["0.1.1", "0.2.0", "0.3.0", "0.4.0"])
def test_older_sdks_read_the_voices(version: str, voice_server: VoiceServer) -> None:
    sdk_path = SDK_ROOT / version
    if not (sdk_path / "revox").is_dir():
        pytest.fail(f"SDK {version} is not installed in {sdk_path}; run `make install`")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            OLDER_FLOW,
            voice_server.base_url,
            voice_server.key,
            BARBER,
            RACHEL,
            CLIP,
        ],
        env={**os.environ, "PYTHONPATH": str(sdk_path)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"] == version
    assert result["count"] >= 6 and result["name"] == "Rachel"
    if version >= "0.3.0":
        assert result["cloned"] in voice_server.cartesia.deleted
