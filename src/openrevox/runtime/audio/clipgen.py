"""Synthesise the shipped sound clips with numpy (our own work, CC0; see assets/README.md).

``python -m openrevox.runtime.audio.clipgen [FOLDER]`` rewrites them, by default into
the package's ``assets`` folder. Each clip is mono, 16 kHz Ogg Vorbis, a few seconds
long, loops without a click, and is normalised to the same loudness (RMS -20 dBFS)
so that a volume setting means the same for every clip.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

RATE = 16000
TARGET_RMS = 0.1  # -20 dBFS
Audio = NDArray[np.float64]


def _noise(rng: np.random.Generator, seconds: float) -> Audio:
    return rng.standard_normal(int(seconds * RATE))


def _band(signal: Audio, low: float, high: float) -> Audio:
    """Brick-wall band-pass in the frequency domain (fine for ambience)."""
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(signal.size, 1 / RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, signal.size)


def _brown(rng: np.random.Generator, seconds: float) -> Audio:
    """Noise with a 1/f^2 spectrum: rumble, air conditioning, wind."""
    spectrum = np.fft.rfft(_noise(rng, seconds))
    freqs = np.fft.rfftfreq(int(seconds * RATE), 1 / RATE)
    spectrum /= np.maximum(freqs, 20.0)
    return np.fft.irfft(spectrum, int(seconds * RATE))


def _t(seconds: float) -> Audio:
    return np.arange(int(seconds * RATE)) / RATE


def _place(track: Audio, sound: Audio, at: float) -> None:
    start = int(at * RATE) % track.size
    end = min(track.size, start + sound.size)
    track[start:end] += sound[: end - start]


def _click(rng: np.random.Generator, tone: float, decay: float) -> Audio:
    """One key press: a short noise burst and a damped resonance."""
    t = _t(0.04)
    burst = rng.standard_normal(t.size) * np.exp(-t / 0.003)
    body: Audio = np.sin(2 * np.pi * tone * t) * np.exp(-t / decay)
    return 0.6 * burst + body


def _typing(rng: np.random.Generator, seconds: float, rate: float, tone: float) -> Audio:
    track = 0.02 * _band(_noise(rng, seconds), 100, 2000)
    at = 0.1
    while at < seconds - 0.1:
        gain = rng.uniform(0.5, 1.0) * (1.6 if rng.random() < 0.08 else 1.0)  # space bar
        _place(track, gain * _click(rng, tone * rng.uniform(0.9, 1.1), 0.008), at)
        at += rng.exponential(1 / rate) + 0.04
        if rng.random() < 0.07:  # a pause to think
            at += rng.uniform(0.3, 0.7)
    return track


def keyboard_typing(rng: np.random.Generator) -> Audio:
    return _typing(rng, 5.0, rate=9.0, tone=1800.0)


def keyboard_typing2(rng: np.random.Generator) -> Audio:
    return _typing(rng, 5.0, rate=5.5, tone=1100.0)


def office_ambience(rng: np.random.Generator) -> Audio:
    seconds = 6.0
    hum = 0.3 * _band(_brown(rng, seconds), 40, 400)
    hum /= np.max(np.abs(hum))
    air = 0.15 * _band(_noise(rng, seconds), 200, 3000)
    far_typing = 0.25 * _typing(rng, seconds, rate=6.0, tone=1500.0)
    return hum + air + far_typing


def background_office(rng: np.random.Generator) -> Audio:
    """``audio/office.ogg``: steadier than the thinking clip, made to sit under speech."""
    seconds = 8.0
    hum = _band(_brown(rng, seconds), 40, 300)
    hum /= np.max(np.abs(hum))
    air = 0.12 * _band(_noise(rng, seconds), 150, 2500)
    return 0.35 * hum + air + 0.15 * _typing(rng, seconds, rate=4.0, tone=1300.0)


def city_ambience(rng: np.random.Generator) -> Audio:
    seconds = 6.0
    t = _t(seconds)
    rumble = _band(_brown(rng, seconds), 30, 500)
    rumble /= np.max(np.abs(rumble))
    traffic = np.zeros_like(t)
    for start in rng.uniform(0, seconds, 4):  # cars passing: swelling filtered noise
        width = rng.uniform(1.0, 2.0)
        envelope = np.exp(-(((t - start) / (width / 2)) ** 2))
        traffic += envelope * _band(_noise(rng, seconds), 80, 1200)
    horn_t = _t(0.35)
    horn = sum(np.sin(2 * np.pi * f * horn_t) for f in (415.0, 523.0))
    horn_sound = np.asarray(horn) * np.minimum(1, horn_t / 0.02) * np.exp(-horn_t / 0.3)
    track = 0.5 * rumble + 0.02 * traffic
    _place(track, 0.08 * horn_sound, 3.7)
    return track


def forest_ambience(rng: np.random.Generator) -> Audio:
    seconds = 6.0
    t = _t(seconds)
    gusts = 0.6 + 0.4 * np.sin(2 * np.pi * 0.23 * t) * np.sin(2 * np.pi * 0.11 * t + 1)
    wind = gusts * _band(_noise(rng, seconds), 150, 1500)
    track = 0.05 * wind
    for _ in range(9):  # bird chirps: short upward sweeps
        chirp_t = _t(rng.uniform(0.06, 0.14))
        f0, f1 = rng.uniform(2500, 3500), rng.uniform(3800, 5000)
        phase = 2 * np.pi * (f0 * chirp_t + (f1 - f0) * chirp_t**2 / (2 * chirp_t[-1]))
        chirp = np.sin(phase) * np.sin(np.pi * chirp_t / chirp_t[-1])
        at = rng.uniform(0, seconds)
        for repeat in range(int(rng.integers(1, 4))):
            _place(track, 0.25 * chirp, at + repeat * 0.18)
    return track


def crowded_room(rng: np.random.Generator) -> Audio:
    """Babble: many voices, each a formant-shaped noise gated at syllable rate."""
    seconds = 6.0
    t = _t(seconds)
    track = np.zeros_like(t)
    for _ in range(14):
        formant = rng.uniform(300, 900)
        voice = _band(_noise(rng, seconds), formant, formant * 2.5)
        syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5.5) * t + rng.uniform(0, 6)), 0, 1)
        phrases = np.clip(np.sin(2 * np.pi * rng.uniform(0.2, 0.4) * t + rng.uniform(0, 6)), 0, 1)
        track += voice * syllables * (0.3 + phrases) * rng.uniform(0.4, 1.0)
    return track


def hold_music(rng: np.random.Generator) -> Audio:
    """Four soft arpeggiated chords (C, G, Am, F), two seconds each."""
    chords = [(261.63, 329.63, 392.0), (246.94, 293.66, 392.0), (220.0, 261.63, 329.63),
              (174.61, 220.0, 261.63)]  # fmt: skip
    track = np.zeros(int(8.0 * RATE))
    note_t = _t(0.5)
    envelope = np.minimum(1, note_t / 0.01) * np.exp(-note_t / 0.35)
    for index, chord in enumerate(chords):
        bass_t = _t(2.0)
        bass = np.sin(2 * np.pi * chord[0] / 2 * bass_t) * np.exp(-bass_t / 1.2)
        _place(track, 0.5 * bass, index * 2.0)
        for step in range(4):
            freq = chord[step % 3] * (2 if step == 3 else 1)
            note = np.sin(2 * np.pi * freq * note_t) + 0.3 * np.sin(4 * np.pi * freq * note_t)
            _place(track, 0.4 * note * envelope, index * 2.0 + step * 0.5)
    return track


CLIPS: dict[str, Callable[[np.random.Generator], Audio]] = {
    "city-ambience.ogg": city_ambience,
    "forest-ambience.ogg": forest_ambience,
    "office-ambience.ogg": office_ambience,
    "crowded-room.ogg": crowded_room,
    "keyboard-typing.ogg": keyboard_typing,
    "keyboard-typing2.ogg": keyboard_typing2,
    "hold_music.ogg": hold_music,
    "audio/office.ogg": background_office,
}


def loopable(audio: Audio, fade_seconds: float = 0.25) -> Audio:
    """Cross-fade the tail into the head so the clip loops without a click."""
    fade = int(fade_seconds * RATE)
    ramp = np.linspace(0.0, 1.0, fade)
    head = audio[:fade] * ramp + audio[-fade:] * (1 - ramp)
    return np.concatenate([head, audio[fade:-fade]])


def normalise(audio: Audio) -> Audio:
    audio = audio - np.mean(audio)
    audio = audio * (TARGET_RMS / np.sqrt(np.mean(audio**2)))
    peak = float(np.max(np.abs(audio)))
    return audio * (0.95 / peak) if peak > 0.95 else audio


def render(name: str, seed: int = 7) -> Audio:
    """One clip as floats at :data:`RATE`, deterministic for a seed."""
    rng = np.random.default_rng([seed, *name.encode()])
    return normalise(loopable(CLIPS[name](rng)))


def write_all(folder: Path) -> list[Path]:
    written = []
    for name in CLIPS:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, render(name).astype(np.float32), RATE, format="OGG", subtype="VORBIS")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    default = Path(__file__).resolve().parents[2] / "assets"
    for written_path in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else default):
        print(written_path, written_path.stat().st_size, "bytes")
