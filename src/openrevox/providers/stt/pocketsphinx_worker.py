"""What runs inside a decoding process: one pocketsphinx decoder, loaded once.

Kept free of Pipecat and the rest of the app so a worker process starts quickly.
pocketsphinx holds the GIL while it decodes, which stalls the event loop that
paces a call's audio; decoding in worker processes keeps the loop on time.
"""

from __future__ import annotations

from pocketsphinx import Decoder

MODEL_RATE = 16000  # the en-US acoustic model is trained on 16 kHz audio

_decoder: Decoder | None = None


def new_decoder() -> Decoder:
    """A decoder with the bundled en-US model (about 0.4 s to load)."""
    return Decoder(samprate=MODEL_RATE, loglevel="FATAL")


def decode(decoder: Decoder, pcm16k: bytes) -> str:
    """The best hypothesis for one utterance of 16 kHz 16-bit mono PCM."""
    decoder.start_utt()
    decoder.process_raw(pcm16k, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return str(hypothesis.hypstr).strip() if hypothesis is not None else ""


def load() -> None:
    """Process-pool initializer: load this process's decoder."""
    global _decoder
    _decoder = new_decoder()


def ready() -> bool:
    """A no-op job, to start the workers before the first utterance."""
    return _decoder is not None


def decode_here(pcm16k: bytes) -> str:
    """Decode with this process's decoder (a process-pool job)."""
    if _decoder is None:
        load()
    assert _decoder is not None
    return decode(_decoder, pcm16k)
