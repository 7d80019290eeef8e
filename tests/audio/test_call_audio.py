"""The assistant's audio fields become the call's audio pieces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openrevox.config import Settings
from openrevox.providers.stt.local_pocketsphinx import LocalPocketsphinxSTTService
from openrevox.providers.tts.local_piper import LocalPiperTTSService
from openrevox.runtime.audio.legs import AudioOptions, CallAudio
from openrevox.runtime.audio.sounds import CallSoundMixer, ThinkingSoundController
from openrevox.runtime.transports.twilio import (
    TwilioProtocolError,
    TwilioStreamStart,
    twilio_call_audio,
)

ASSISTANT = {
    "voice": {"id": "v1", "provider": "cartesia", "speed": 1.1, "volume": 0.9},
    "stt_model": "stt-rt-v4",
    "stt_context": {"general": [{"key": "company", "value": "Acme"}], "terms": ["Revox"]},
    "thinking_sound": "keyboard-typing.ogg",
    "thinking_sound_probability": 0.25,
    "thinking_sound_volume": 0.4,
    "background_sound": "audio/office.ogg",
    "background_sound_volume": 0.2,
}


def test_options_are_read_from_the_assistant(tmp_path: Path) -> None:
    options = AudioOptions.from_assistant(ASSISTANT, recording_path=tmp_path / "c.wav")
    assert options.voice == ASSISTANT["voice"]
    assert (options.stt_model, options.stt_terms) == ("stt-rt-v4", ("Revox",))
    assert options.stt_general == {"company": "Acme"}
    assert (options.thinking_sound, options.thinking_sound_probability) == (
        "keyboard-typing.ogg",
        0.25,
    )
    assert (options.background_sound, options.background_sound_volume) == (
        "audio/office.ogg",
        0.2,
    )
    bare = AudioOptions.from_assistant({"thinking_sound_volume": None})
    assert bare.voice is None and bare.thinking_sound is None
    assert bare.thinking_sound_volume == 0.5 and bare.recording_path is None


def test_call_audio_builds_the_pieces(speech_settings: Settings, tmp_path: Path) -> None:
    options = AudioOptions.from_assistant(ASSISTANT, recording_path=tmp_path / "c.wav")
    audio = twilio_call_audio(options, speech_settings)
    assert (audio.in_sample_rate, audio.out_sample_rate) == (16000, 8000)
    assert isinstance(audio.tts.service, LocalPiperTTSService)
    assert isinstance(audio.stt.service, LocalPocketsphinxSTTService)
    assert audio.engines == {"tts": "local-piper", "stt": "local-pocketsphinx"}
    assert isinstance(audio.mixer, CallSoundMixer) and audio.mixer.background_volume == 0.2
    assert isinstance(audio.thinking, ThinkingSoundController)
    assert audio.thinking.probability == 0.25
    legs = audio.pipeline_legs()
    assert legs.stt is audio.stt.service and legs.tts is audio.tts.service
    assert legs.vad_analyzer is audio.vad_analyzer and legs.user_turn_strategies is not None
    assert (legs.audio_in_sample_rate, legs.audio_out_sample_rate) == (16000, 8000)
    media_out = object()
    chain = audio.media_outputs(media_out)  # type: ignore[arg-type]
    assert chain[0] is audio.thinking and chain[1] is media_out
    assert audio.recorder is not None and chain[2] is audio.recorder.processor


def test_no_sounds_no_mixer_no_recorder(speech_settings: Settings) -> None:
    audio = CallAudio(AudioOptions(), speech_settings)
    assert audio.mixer is None and audio.thinking is None and audio.recorder is None
    media_out = object()
    assert audio.media_outputs(media_out) == [media_out]  # type: ignore[arg-type]


def test_the_start_message_is_parsed() -> None:
    start = TwilioStreamStart.parse(
        json.loads(
            '{"event": "start", "streamSid": "MZ1", "start": {"streamSid": "MZ1",'
            ' "callSid": "CA1", "accountSid": "AC1", "customParameters": {"call_id": "c-9"},'
            ' "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000}}}'
        )
    )
    assert (start.stream_sid, start.call_sid, start.account_sid) == ("MZ1", "CA1", "AC1")
    assert start.custom_parameters == {"call_id": "c-9"}
    assert start.media_format["sampleRate"] == 8000
    with pytest.raises(TwilioProtocolError):
        TwilioStreamStart.parse({"event": "start", "start": {}})
