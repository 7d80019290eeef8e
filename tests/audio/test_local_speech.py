"""Local offline speech: piper speaks, pocketsphinx listens, the factories choose them."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.tests.utils import run_test
from pydantic import SecretStr

from openrevox.config import Settings
from openrevox.providers.stt.base import LOCAL_ENGINE as LOCAL_STT
from openrevox.providers.stt.base import make_stt
from openrevox.providers.stt.local_pocketsphinx import (
    LocalPocketsphinxSTTService,
    transcribe,
)
from openrevox.providers.tts.base import LOCAL_ENGINE as LOCAL_TTS
from openrevox.providers.tts.base import SpeechNotConfigured, make_tts
from openrevox.providers.tts.local_piper import LocalPiperTTSService, synthesize
from openrevox.runtime.audio.pcm import resample_pcm16, to_float

from .conftest import share_heard

SENTENCE = "I would like to book an appointment for tomorrow morning please."
KEY_WORDS = {"would", "like", "book", "appointment", "tomorrow", "morning"}
# pocketsphinx on synthetic speech is good, not perfect: most key words must be heard.
ENOUGH = 0.65


def test_piper_says_a_sentence_and_pocketsphinx_hears_it() -> None:
    started = time.monotonic()
    pcm, rate = synthesize(SENTENCE)
    assert rate == 22050
    assert 2.0 < len(pcm) / 2 / rate < 6.0
    heard = transcribe(pcm, rate)
    assert share_heard(KEY_WORDS, heard) >= ENOUGH, heard
    assert time.monotonic() - started < 10


def test_telephone_quality_audio_is_still_understood() -> None:
    """The same sentence through an 8 kHz line, as a Twilio caller sounds."""
    pcm, rate = synthesize(SENTENCE)
    heard = transcribe(resample_pcm16(pcm, rate, 8000), 8000)
    assert share_heard(KEY_WORDS, heard) >= ENOUGH, heard


def test_speed_and_volume_change_the_audio() -> None:
    normal, _ = synthesize(SENTENCE)
    fast, _ = synthesize(SENTENCE, speed=1.4)
    slow, _ = synthesize(SENTENCE, speed=0.6)
    loud, _ = synthesize(SENTENCE, volume=2.0)
    assert len(fast) < 0.9 * len(normal) < 0.9 * 0.8 * len(slow)
    assert np.max(np.abs(to_float(normal))) == pytest.approx(0.5, abs=0.02)
    assert np.max(np.abs(to_float(loud))) == pytest.approx(1.0, abs=0.02)
    quiet, _ = synthesize(SENTENCE, volume=0.5)
    assert np.max(np.abs(to_float(quiet))) == pytest.approx(0.25, abs=0.02)


async def test_piper_service_speaks_at_the_pipeline_rate() -> None:
    service = LocalPiperTTSService(sample_rate=16000)
    reply = "Your appointment is confirmed for tomorrow morning. Thank you for calling."
    down, _ = await run_test(service, frames_to_send=[TTSSpeakFrame(reply)])
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert audio and {f.sample_rate for f in audio} == {16000}
    pcm = b"".join(f.audio for f in audio)
    assert 3.0 < len(pcm) / 2 / 16000 < 7.0
    heard = transcribe(pcm, 16000)
    expected = {"appointment", "confirmed", "tomorrow", "morning", "thank", "calling"}
    assert share_heard(expected, heard) >= ENOUGH, heard


async def test_pocketsphinx_service_transcribes_a_vad_segment() -> None:
    pcm, rate = synthesize(SENTENCE)
    pcm16k = resample_pcm16(pcm, rate, 16000)
    chunk = 640  # 20 ms at 16 kHz
    frames = [VADUserStartedSpeakingFrame()]
    frames += [
        InputAudioRawFrame(audio=pcm16k[i : i + chunk], sample_rate=16000, num_channels=1)
        for i in range(0, len(pcm16k), chunk)
    ]
    frames.append(VADUserStoppedSpeakingFrame())
    service = LocalPocketsphinxSTTService(sample_rate=16000)
    down, _ = await run_test(service, frames_to_send=frames)
    finals = [f for f in down if isinstance(f, TranscriptionFrame)]
    assert len(finals) == 1 and finals[0].finalized
    assert share_heard(KEY_WORDS, finals[0].text) >= ENOUGH, finals[0].text


def test_local_engines_are_the_fallback(speech_settings: Settings) -> None:
    voice = {"id": "a-cartesia-voice", "provider": "cartesia", "speed": 1.2, "volume": 0.8}
    tts = make_tts(voice, speech_settings)
    assert tts.engine == LOCAL_TTS and isinstance(tts.service, LocalPiperTTSService)
    assert make_tts(None, speech_settings).engine == LOCAL_TTS
    stt = make_stt("stt-rt-v5", speech_settings, ["Calendly"])
    assert stt.engine == LOCAL_STT and stt.needs_vad_segments


def test_vendor_keys_choose_the_vendors(speech_settings: Settings) -> None:
    settings = speech_settings.model_copy(
        update={
            "cartesia_api_key": SecretStr("c-key"),
            "elevenlabs_api_key": SecretStr("e-key"),
            "soniox_api_key": SecretStr("s-key"),
        }
    )
    cartesia = make_tts(
        {"id": "v1", "provider": "cartesia", "model": "sonic-3", "speed": 1.1, "volume": 1.5},
        settings,
    )
    assert cartesia.engine == "cartesia" and cartesia.output_volume == 1.0
    eleven = make_tts({"id": "v2", "provider": "elevenlabs", "volume": 0.7}, settings)
    assert eleven.engine == "elevenlabs" and eleven.output_volume == 0.7
    gradium = make_tts({"id": "v3", "provider": "gradium"}, settings)
    assert gradium.engine == LOCAL_TTS  # no gradium key: the local voice speaks
    stt = make_stt("stt-rt-v4", settings, ["Revox"], context_general={"company": "Acme"})
    assert stt.engine == "soniox" and not stt.needs_vad_segments


def test_without_fallback_the_missing_setting_is_named(speech_settings: Settings) -> None:
    settings = speech_settings.model_copy(update={"local_speech_fallback": False})
    with pytest.raises(SpeechNotConfigured, match="OPENREVOX_ELEVENLABS_API_KEY"):
        make_tts({"id": "v", "provider": "elevenlabs"}, settings)
    with pytest.raises(SpeechNotConfigured, match="OPENREVOX_SONIOX_API_KEY"):
        make_stt(None, settings)
