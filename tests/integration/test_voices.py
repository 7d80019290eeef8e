"""The voices API on every backend, with the fake Cartesia and ElevenLabs on loopback:
catalogs and their cache, clone/retrieve/delete per organization, previews, vendor errors,
and the local voice offline."""

from __future__ import annotations

import asyncio
import base64
import io
import wave
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile

from openrevox.app import create_app
from openrevox.config import Settings
from openrevox.services import auth
from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.storage.models import ClonedVoice
from openrevox.storage.repositories import voices as voices_repo
from openrevox.testing.fake_cartesia import (
    DEFAULT_CARTESIA_VOICES,
    FakeCartesia,
    VendorFailure,
    mp3_duration,
)
from openrevox.testing.fake_elevenlabs import FakeElevenLabs

CARTESIA_KEY = "sk_car_integration_secret"
ELEVENLABS_KEY = "xi-integration-secret"
BARBER = "a0e99841-438c-4a64-b679-ae501e7d6091"
RACHEL = "21m00Tcm4TlvDq8ikWAM"
CLIP = base64.b64encode(b"RIFF" + bytes(8000)).decode()


@dataclass
class VoicesApi:
    client: httpx.AsyncClient
    other: httpx.AsyncClient
    db: Database


@pytest.fixture
def cartesia() -> Iterator[FakeCartesia]:
    with FakeCartesia(api_key=CARTESIA_KEY) as fake:
        yield fake


@pytest.fixture
def elevenlabs() -> Iterator[FakeElevenLabs]:
    with FakeElevenLabs(api_key=ELEVENLABS_KEY) as fake:
        yield fake


async def _issue(db: Database, org: str, email: str) -> str:
    async with db.write() as session:
        issued = await auth.issue_key(session, organization_name=org, email=email, country="FR")
    return issued.key


@asynccontextmanager
async def serve(database_url: str, **settings: Any) -> AsyncIterator[VoicesApi]:
    await upgrade_async(database_url)
    app = create_app(Settings(database_url=database_url, **settings))
    async with app.router.lifespan_context(app):
        db: Database = app.state.db
        key = await _issue(db, "acme", "owner@acme.test")
        other_key = await _issue(db, "globex", "owner@globex.test")
        transport = httpx.ASGITransport(app=app)
        base = "http://openrevox.test"
        async with (
            httpx.AsyncClient(
                transport=transport, base_url=base, headers={"Authorization": f"Bearer {key}"}
            ) as client,
            httpx.AsyncClient(
                transport=transport, base_url=base, headers={"Authorization": f"Bearer {other_key}"}
            ) as other,
        ):
            yield VoicesApi(client, other, db)


def vendors(cartesia: FakeCartesia | None, elevenlabs: FakeElevenLabs | None) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if cartesia is not None:
        settings |= {"cartesia_base_url": cartesia.base_url, "cartesia_api_key": CARTESIA_KEY}
    if elevenlabs is not None:
        settings |= {
            "elevenlabs_base_url": elevenlabs.base_url,
            "elevenlabs_api_key": ELEVENLABS_KEY,
        }
    return settings


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    return error


async def clone(api: VoicesApi, name: str = "Founder", **fields: Any) -> dict[str, Any]:
    body = {"audio": CLIP, "contentType": "audio/wav", "language": "en", "name": name, **fields}
    response = await api.client.post("/voices/clone", json=body)
    assert response.status_code == 201, response.text
    cloned: dict[str, Any] = response.json()
    return cloned


# ---- list and cache ----


async def test_list_without_keys_is_the_organizations_clones_only(database_url: str) -> None:
    async with serve(database_url) as api:
        response = await api.client.get("/voices")
        assert response.status_code == 200
        assert response.json() == {"voices": []}


async def test_list_merges_both_catalogs_and_caches_them(
    database_url: str, cartesia: FakeCartesia, elevenlabs: FakeElevenLabs
) -> None:
    async with serve(database_url, **vendors(cartesia, elevenlabs)) as api:
        first = (await api.client.get("/voices")).json()["voices"]
        by_provider = {
            provider: [v["name"] for v in first if v["provider"] == provider]
            for provider in ("cartesia", "elevenlabs")
        }
        assert by_provider == {
            "cartesia": ["Barbershop Man", "British Lady", "Friendly French Man"],
            "elevenlabs": ["Rachel", "George", "Matilda"],
        }
        barber = next(v for v in first if v["id"] == BARBER)
        assert barber == {
            "id": BARBER,
            "name": "Barbershop Man",
            "description": "A rich, smooth male voice for a friendly conversation.",
            "language": "en",
            "provider": "cartesia",
            "gender": "male",
            "isCloned": False,
        }
        rachel = next(v for v in first if v["id"] == RACHEL)
        assert rachel["accent"] == "american" and rachel["gender"] == "female"
        # The second list (and the other organization's) is served from the cache.
        second = (await api.other.get("/voices")).json()["voices"]
        assert second == first
        assert len(cartesia.requests_to("GET", "/voices")) == 1
        assert len(elevenlabs.requests_to("GET", "/v1/voices")) == 1


async def test_cache_expires_after_its_ttl(database_url: str, cartesia: FakeCartesia) -> None:
    async with serve(database_url, **vendors(cartesia, None), voice_catalog_ttl_secs=0) as api:
        await api.client.get("/voices")
        cartesia.add_voice({"id": "new-voice", "name": "Newcomer", "language": "en"})
        names = [v["name"] for v in (await api.client.get("/voices")).json()["voices"]]
        assert "Newcomer" in names
        assert len(cartesia.requests_to("GET", "/voices")) == 2


async def test_concurrent_lists_share_one_catalog_fetch(
    database_url: str, cartesia: FakeCartesia
) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        cartesia.delay = 0.3
        answers = await asyncio.gather(*(api.client.get("/voices") for _ in range(5)))
        assert {len(a.json()["voices"]) for a in answers} == {3}
        assert len(cartesia.requests_to("GET", "/voices")) == 1


async def test_an_empty_key_setting_is_no_key(database_url: str, cartesia: FakeCartesia) -> None:
    settings = {**vendors(cartesia, None), "cartesia_api_key": ""}
    async with serve(database_url, **settings) as api:
        assert (await api.client.get("/voices")).json() == {"voices": []}
        local = (await api.client.get("/voices/local")).json()["voices"][0]
        assert local["standsInFor"] == ["cartesia", "elevenlabs", "gradium"]
        assert cartesia.requests == []


# ---- clone, retrieve, delete ----


async def test_clone_is_recorded_for_the_organization_only(
    database_url: str, cartesia: FakeCartesia
) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        await api.client.get("/voices")  # the catalog is cached before the clone
        cloned = await clone(api, "Founder", language="fr")
        assert set(cloned) == {"id", "cartesiaVoiceId", "createdAt", "language", "name"}
        assert cloned["name"] == "Founder" and cloned["language"] == "fr"
        assert cloned["createdAt"].endswith("Z")
        assert cartesia.voices[cloned["cartesiaVoiceId"]]["is_owner"] is True
        sent = cartesia.requests_to("POST", "/voices/clone")[0]
        assert sent.files["clip"].data == base64.b64decode(CLIP)
        assert sent.form == {"name": "Founder", "language": "fr"}

        mine = (await api.client.get("/voices")).json()["voices"]
        assert mine[0] == {
            "id": cloned["cartesiaVoiceId"],
            "name": "Founder",
            "description": "",
            "language": "fr",
            "provider": "cartesia",
            "isCloned": True,
        }
        assert sum(v["id"] == cloned["cartesiaVoiceId"] for v in mine) == 1
        # Cartesia lists the clone in the shared account; the other organization never sees it.
        # A preview by our id or Cartesia's speaks the clone.
        for voice_id in (cloned["id"], cloned["cartesiaVoiceId"]):
            body = {"provider": "cartesia", "voiceId": voice_id, "text": "Mine."}
            assert (await api.client.post("/voices/preview", json=body)).status_code == 200
        assert [s["voice"]["id"] for s in cartesia.syntheses] == [cloned["cartesiaVoiceId"]] * 2
        cartesia.syntheses.clear()
        theirs = (await api.other.get("/voices")).json()["voices"]
        assert cloned["cartesiaVoiceId"] not in {v["id"] for v in theirs}
        retrieved = await api.client.get(
            f"/voices/{cloned['cartesiaVoiceId']}", params={"provider": "cartesia"}
        )
        assert retrieved.json() == {
            "voice": {"id": cloned["cartesiaVoiceId"], "name": "Founder", "description": ""}
        }
        for response in (
            await api.other.get(
                f"/voices/{cloned['cartesiaVoiceId']}", params={"provider": "cartesia"}
            ),
            await api.other.delete(f"/voices/{cloned['id']}"),
            await api.other.delete(f"/voices/{cloned['cartesiaVoiceId']}"),
            await api.other.post(
                "/voices/preview",
                json={"provider": "cartesia", "voiceId": cloned["cartesiaVoiceId"]},
            ),
        ):
            assert error_of(response, 404)["code"] == "not_found"
        assert cartesia.deleted == [] and cartesia.syntheses == []


async def test_clone_input_errors(database_url: str, cartesia: FakeCartesia) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        base = {"audio": CLIP, "contentType": "audio/wav", "language": "en", "name": "V"}
        cases = [
            ({"audio": "not base64!"}, "audio", "not valid base64"),
            ({"audio": ""}, "audio", "at least 1 character"),
            ({"contentType": "audio/flac"}, "contentType", "audio/webm"),
            ({"language": "ja"}, "language", "'en'"),
            ({"name": "  "}, "name", "must not be empty"),
            ({"audio": base64.b64encode(b"tiny").decode()}, "audio", "too short"),
        ]
        for change, path, message in cases:
            response = await api.client.post("/voices/clone", json={**base, **change})
            error = error_of(response, 400)
            assert error["fields"][0]["path"] == path, error
            assert message in error["fields"][0]["message"], error
        too_big = base64.b64encode(bytes(7_864_321)).decode()
        error = error_of(
            await api.client.post("/voices/clone", json={**base, "audio": too_big}), 400
        )
        assert "7.5 MiB" in error["message"]
        assert len(cartesia.requests_to("POST", "/voices/clone")) == 1  # only the tiny clip


async def test_a_clone_not_recorded_is_deleted_at_cartesia(
    database_url: str, cartesia: FakeCartesia, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_add(session: object, voice: object) -> None:
        raise RuntimeError("the database refused the row")

    async with serve(database_url, **vendors(cartesia, None)) as api:
        monkeypatch.setattr(voices_repo, "add", broken_add)
        body = {"audio": CLIP, "contentType": "audio/wav", "language": "en", "name": "Lost"}
        try:
            response = await api.client.post("/voices/clone", json=body)
            assert response.status_code == 500
        except RuntimeError:
            pass  # the in-process transport re-raises what the app answered 500 for
        assert len(cartesia.requests_to("POST", "/voices/clone")) == 1
        (deleted,) = cartesia.deleted
        assert deleted not in {v["id"] for v in DEFAULT_CARTESIA_VOICES}
        assert not any(v["is_owner"] for v in cartesia.voices.values())


async def test_nul_characters_are_refused(database_url: str, cartesia: FakeCartesia) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        body = {"audio": CLIP, "contentType": "audio/wav", "language": "en", "name": "A\u0000B"}
        error = error_of(await api.client.post("/voices/clone", json=body), 400)
        assert error["fields"][0]["path"] == "name"
        preview = {"provider": "cartesia", "voiceId": BARBER, "text": "Hi\u0000"}
        error = error_of(await api.client.post("/voices/preview", json=preview), 400)
        assert error["fields"][0]["path"] == "text"
        assert cartesia.requests == []


async def test_clone_needs_the_cartesia_key(database_url: str) -> None:
    async with serve(database_url) as api:
        body = {"audio": CLIP, "contentType": "audio/wav", "language": "en", "name": "V"}
        error = error_of(await api.client.post("/voices/clone", json=body), 422)
        assert error["code"] == "speech_not_configured"
        assert "OPENREVOX_CARTESIA_API_KEY" in error["message"]


async def test_delete_is_refused_while_an_assistant_uses_the_voice(
    database_url: str, cartesia: FakeCartesia
) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        cloned = await clone(api)
        voice = {"id": cloned["cartesiaVoiceId"], "provider": "cartesia"}
        made = await api.client.post(
            "/assistants", json={"name": "Closer", "prompt": "p", "voice": voice}
        )
        assistant = made.json()["assistant"]
        # Another organization's assistant naming the same id does not count.
        await api.other.post("/assistants", json={"name": "Theirs", "prompt": "p", "voice": voice})

        error = error_of(await api.client.delete(f"/voices/{cloned['id']}"), 409)
        assert error["code"] == "conflict"
        assert "'Closer'" in error["message"] and assistant["id"] in error["message"]
        assert "Theirs" not in error["message"]
        assert cartesia.deleted == []

        # An archived assistant does not hold the voice.
        assert (await api.client.delete(f"/assistants/{assistant['id']}")).status_code == 200
        deleted = await api.client.delete(f"/voices/{cloned['id']}")
        assert deleted.status_code == 200 and deleted.json() == {"success": True}
        assert cartesia.deleted == [cloned["cartesiaVoiceId"]]
        listed = (await api.client.get("/voices")).json()["voices"]
        assert cloned["cartesiaVoiceId"] not in {v["id"] for v in listed}
        assert error_of(await api.client.delete(f"/voices/{cloned['id']}"), 404)
        gone = await api.client.get(
            f"/voices/{cloned['cartesiaVoiceId']}", params={"provider": "cartesia"}
        )
        error_of(gone, 404)


async def test_delete_is_refused_while_an_unfinished_call_speaks_with_the_voice(
    database_url: str, cartesia: FakeCartesia
) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        cloned = await clone(api)
        voice = {"id": cloned["cartesiaVoiceId"], "provider": "cartesia"}
        # An order with an inline assistant: no saved assistant uses the voice. Planned
        # for later, so it is "scheduled" whatever the time of day of the run.
        order = {
            "phone_number": "+14155552671",
            "assistant": {"name": "Inline", "prompt": "p", "voice": voice},
            "scheduled_at": "2030-01-07T12:00:00Z",
        }
        call = await api.client.post("/call", json=order)
        assert call.status_code == 201, call.text
        assert call.json()["call"]["status"] == "scheduled"
        async with api.db.read() as session:
            row = await session.get(ClonedVoice, cloned["id"])
            assert row is not None
            statuses = ["scheduled", "paused"]
            org = row.organization_id
            ids = [row.provider_voice_id]
            assert await voices_repo.calls_speaking_with(session, org, ids, statuses) == 1
            assert await voices_repo.calls_speaking_with(session, org, [BARBER], statuses) == 0
            assert await voices_repo.calls_speaking_with(session, org, ids, ["completed"]) == 0

        error = error_of(await api.client.delete(f"/voices/{cloned['id']}"), 409)
        assert "1 unfinished call" in error["message"]
        assert cartesia.deleted == []
        call_id = call.json()["call"]["id"]
        assert (await api.client.post(f"/call/{call_id}/cancel")).status_code == 200
        assert (await api.client.delete(f"/voices/{cloned['id']}")).status_code == 200
        assert cartesia.deleted == [cloned["cartesiaVoiceId"]]


async def test_delete_by_cartesia_id_and_catalog_voices_cannot_be_deleted(
    database_url: str, cartesia: FakeCartesia
) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        cloned = await clone(api)
        response = await api.client.delete(f"/voices/{cloned['cartesiaVoiceId']}")
        assert response.json() == {"success": True}
        error = error_of(await api.client.delete(f"/voices/{BARBER}"), 404)
        assert "only your organization's cloned voices" in error["message"]
        assert cartesia.deleted == [cloned["cartesiaVoiceId"]]


async def test_retrieve(
    database_url: str, cartesia: FakeCartesia, elevenlabs: FakeElevenLabs
) -> None:
    async with serve(database_url, **vendors(cartesia, elevenlabs)) as api:
        got = await api.client.get(f"/voices/{BARBER}", params={"provider": "cartesia"})
        assert got.json()["voice"]["name"] == "Barbershop Man"
        got = await api.client.get(f"/voices/{RACHEL}", params={"provider": "elevenlabs"})
        assert got.json()["voice"] == {
            "id": RACHEL,
            "name": "Rachel",
            "description": "Matter-of-fact, personable woman. Great for conversational use cases.",
        }
        error_of(await api.client.get("/voices/nope", params={"provider": "cartesia"}), 404)
        # A Cartesia id asked of ElevenLabs is not found there.
        error_of(await api.client.get(f"/voices/{BARBER}", params={"provider": "elevenlabs"}), 404)
        missing = error_of(await api.client.get(f"/voices/{BARBER}"), 400)
        assert missing["fields"][0]["path"] == "provider"
        bad = error_of(await api.client.get(f"/voices/{BARBER}", params={"provider": "x"}), 400)
        assert bad["fields"][0]["path"] == "provider"
        gradium = await api.client.get(f"/voices/{BARBER}", params={"provider": "gradium"})
        assert error_of(gradium, 422)["code"] == "voice_provider_unsupported"


async def test_ids_that_name_no_voice_are_not_found(
    database_url: str, cartesia: FakeCartesia
) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        for voice_id in ("%00", "a%0Ab", "x" * 300):
            got = await api.client.get(f"/voices/{voice_id}", params={"provider": "cartesia"})
            error_of(got, 404)
            error_of(await api.client.delete(f"/voices/{voice_id}"), 404)
        assert cartesia.requests == []


async def test_retrieve_without_the_key_names_the_setting(database_url: str) -> None:
    async with serve(database_url) as api:
        response = await api.client.get(f"/voices/{RACHEL}", params={"provider": "elevenlabs"})
        error = error_of(response, 422)
        assert "OPENREVOX_ELEVENLABS_API_KEY" in error["message"]


# ---- vendor errors at the edge ----


async def test_a_refused_key_is_a_502_naming_the_setting_not_the_key(
    database_url: str, cartesia: FakeCartesia
) -> None:
    settings = {**vendors(cartesia, None), "cartesia_api_key": "sk_car_wrong_secret_value"}
    async with serve(database_url, **settings) as api:
        response = await api.client.get("/voices")
        error = error_of(response, 502)
        assert error["code"] == "voice_provider_unauthorized"
        assert "OPENREVOX_CARTESIA_API_KEY" in error["message"]
        assert "sk_car_wrong_secret_value" not in response.text


async def test_a_vendor_down_is_a_502_and_the_next_request_recovers(
    database_url: str, cartesia: FakeCartesia, elevenlabs: FakeElevenLabs
) -> None:
    async with serve(database_url, **vendors(cartesia, elevenlabs)) as api:
        elevenlabs.fail_next(VendorFailure(503, "<html>maintenance</html>"))
        error = error_of(await api.client.get("/voices"), 502)
        assert error["code"] == "voice_provider_unavailable"
        assert "ElevenLabs" in error["message"] and "503" in error["message"]
        assert ELEVENLABS_KEY not in error["message"] and CARTESIA_KEY not in error["message"]
        assert len((await api.client.get("/voices")).json()["voices"]) == 6

        cartesia.fail_next(VendorFailure(500, path_prefix="/tts"))
        preview = {"provider": "cartesia", "voiceId": BARBER}
        error_of(await api.client.post("/voices/preview", json=preview), 502)


async def test_an_unreachable_vendor_is_a_502(database_url: str) -> None:
    with FakeCartesia(api_key=CARTESIA_KEY) as stopped:
        settings = vendors(stopped, None)
    async with serve(database_url, **settings) as api:
        error = error_of(await api.client.get("/voices"), 502)
        assert "could not be reached" in error["message"]


# ---- preview ----


async def test_preview_through_cartesia(database_url: str, cartesia: FakeCartesia) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        body = {
            "provider": "cartesia",
            "voiceId": BARBER,
            "model": "sonic-3.5",
            "speed": 1.5,
            "volume": 2.0,
            "text": "Six words make up this sentence.",
        }
        response = await api.client.post("/voices/preview", json=body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "audio/mpeg"
        assert response.headers["x-voice-engine"] == "cartesia"
        assert mp3_duration(response.content) == pytest.approx(6 * 0.35 / 1.5, abs=0.05)
        sent = cartesia.syntheses[0]
        assert sent["transcript"] == body["text"] and sent["model_id"] == "sonic-3.5"
        assert sent["generation_config"] == {"speed": 1.5, "volume": 2.0}
        # No text: the default sentence; no model: sonic-3.
        response = await api.client.post(
            "/voices/preview", json={"provider": "cartesia", "voiceId": BARBER}
        )
        assert response.status_code == 200
        assert cartesia.syntheses[1]["transcript"].startswith("Hello!")
        assert cartesia.syntheses[1]["model_id"] == "sonic-3"
        unknown = await api.client.post(
            "/voices/preview", json={"provider": "cartesia", "voiceId": "no-such-voice"}
        )
        assert "not found at Cartesia" in error_of(unknown, 404)["message"]


async def test_preview_through_elevenlabs(database_url: str, elevenlabs: FakeElevenLabs) -> None:
    async with serve(database_url, **vendors(None, elevenlabs)) as api:
        body = {"provider": "elevenlabs", "voiceId": RACHEL, "speed": 0.8, "volume": 9}
        response = await api.client.post("/voices/preview", json=body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "audio/mpeg"
        assert response.headers["x-voice-engine"] == "elevenlabs"
        assert mp3_duration(response.content) > 1.0
        # volume and model do not apply to ElevenLabs (the SDK says they are ignored).
        assert elevenlabs.syntheses[0]["voice_settings"] == {"speed": 0.8}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 501}, "text"),
        ({"provider": "azure"}, "provider"),
        ({"voiceId": ""}, "voiceId"),
        ({"speed": 1.3, "provider": "elevenlabs"}, "speed"),
        ({"speed": 0.1}, "speed"),
        ({"volume": 3.0}, "volume"),
        ({"model": "sonic-9"}, "model"),
        ({"voice_id": "x"}, "voice_id"),
    ],
)
async def test_preview_bad_input_is_a_400_naming_the_field(
    database_url: str, change: dict[str, Any], path: str
) -> None:
    async with serve(database_url) as api:
        body = {"provider": "cartesia", "voiceId": BARBER, **change}
        error = error_of(await api.client.post("/voices/preview", json=body), 400)
        assert path in {f["path"] for f in error["fields"]}, error


async def test_preview_without_a_key_and_without_the_fallback(database_url: str) -> None:
    async with serve(database_url, local_speech_fallback=False) as api:
        body = {"provider": "elevenlabs", "voiceId": RACHEL}
        error = error_of(await api.client.post("/voices/preview", json=body), 422)
        assert error["code"] == "speech_not_configured"
        assert "OPENREVOX_ELEVENLABS_API_KEY" in error["message"]


async def test_preview_offline_speaks_with_the_local_voice(database_url: str) -> None:
    async with serve(database_url) as api:
        text = "Hello, this is the local voice speaking offline."
        body = {"provider": "cartesia", "voiceId": BARBER, "text": text, "speed": 1.0}
        response = await api.client.post("/voices/preview", json=body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "audio/mpeg"
        assert response.headers["x-voice-engine"] == "local-piper"
        assert response.headers["content-disposition"] == 'inline; filename="preview.mp3"'
        # Nine words: about three seconds of speech (MP3 frames), and not silence.
        seconds = mp3_duration(response.content)
        assert 1.5 < seconds < 6.0
        samples, rate = soundfile.read(io.BytesIO(response.content), dtype="int16")
        assert rate == 22050 and abs(len(samples) / rate - seconds) < 0.2
        assert rms(samples) > 500

        faster = await api.client.post("/voices/preview", json={**body, "speed": 1.5})
        assert mp3_duration(faster.content) < seconds * 0.85
        quieter = await api.client.post("/voices/preview", json={**body, "volume": 0.5})
        quiet_samples, _ = soundfile.read(io.BytesIO(quieter.content), dtype="int16")
        # Half the volume: about half the level. Each synthesis differs a little (piper's
        # noise), so the ratio of two of them is only close to 0.5.
        assert 0.3 < rms(quiet_samples) / rms(samples) < 0.75


async def test_preview_offline_as_wav_when_asked(database_url: str) -> None:
    async with serve(database_url) as api:
        body = {"provider": "elevenlabs", "voiceId": RACHEL, "text": "Good morning to you."}
        response = await api.client.post(
            "/voices/preview", json=body, headers={"Accept": "audio/wav"}
        )
        assert response.headers["content-type"] == "audio/wav"
        assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"
        with wave.open(io.BytesIO(response.content)) as audio:
            assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
            assert audio.getframerate() == 22050
            seconds = audio.getnframes() / audio.getframerate()
            samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype=np.int16)
        assert 0.6 < seconds < 4.0
        assert rms(samples) > 500


def rms(samples: np.ndarray[Any, Any]) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


async def test_local_synthesis_does_not_block_the_event_loop(database_url: str) -> None:
    # Long enough to take well over 0.3 s (three sentences once took 0.29 s in CI).
    text = " ".join(["The quick brown fox jumps over the lazy dog again."] * 6)
    async with serve(database_url) as api:
        body = {"provider": "elevenlabs", "voiceId": RACHEL, "text": text}
        await api.client.post("/voices/preview", json={**body, "text": "Warm up."})
        gaps: list[float] = []
        done = asyncio.Event()

        async def heartbeat() -> None:
            loop = asyncio.get_running_loop()
            last = loop.time()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = loop.time()
                gaps.append(now - last)
                last = now

        beating = asyncio.create_task(heartbeat())
        started = asyncio.get_running_loop().time()
        response = await api.client.post("/voices/preview", json=body)
        took = asyncio.get_running_loop().time() - started
        done.set()
        await beating
        assert response.status_code == 200 and response.headers["x-voice-engine"] == "local-piper"
        # Synthesis on the loop would stall it for the whole synthesis.
        assert took > 0.3
        assert max(gaps) < max(0.25, took / 3), (max(gaps), took)


# ---- the local extension ----


async def test_local_voices_extension(database_url: str, cartesia: FakeCartesia) -> None:
    async with serve(database_url, **vendors(cartesia, None)) as api:
        response = await api.client.get("/voices/local")
        assert response.status_code == 200
        (joe,) = response.json()["voices"]
        assert joe["id"] == "en_US-joe-medium" and joe["provider"] == "local"
        assert joe["engine"] == "piper" and joe["formats"] == ["audio/mpeg", "audio/wav"]
        assert joe["active"] is True
        assert joe["standsInFor"] == ["elevenlabs", "gradium"]
        # The SDK's retrieve("local", provider=...) is still a retrieve.
        retrieve = await api.client.get("/voices/local", params={"provider": "cartesia"})
        error_of(retrieve, 404)
        unauthenticated = await api.client.get(
            "/voices/local", headers={"Authorization": "Bearer nope"}
        )
        error_of(unauthenticated, 401)
