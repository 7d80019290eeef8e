"""Silero VAD for every call of a process: one ONNX session, windows scored in batches.

Pipecat's ``SileroVADAnalyzer`` gives each call its own ONNX session and hands every
20 ms chunk of caller audio to a one-thread executor of its own: 50 thread hand-offs a
second per call, threads that contend for the interpreter lock as calls add up, and
each 32 ms window scored alone. ``BatchedSileroVADAnalyzer`` keeps Pipecat's VAD logic
(``VADAnalyzer``: volume, start/stop counting, parameters) and Silero's recurrent-state
resets, and scores its windows through a ``SileroBatcher`` shared by the calls of the
event loop: the windows all calls complete within one tick (16 ms by default) are scored
by one ``session.run`` on the event loop, each call's recurrent state and audio context
in its own row of the batch.

``analyze_audio`` queues the windows its chunk completes; each score is applied (volume,
state machine) as its batch completes. For a chunk of a window or less it returns at
once, with the state as of the windows already scored (the next chunk, 20 ms later,
reports the rest): nothing waits for a batch. A chunk of two windows or more (bursty
input: Pipecat's Twilio serializer resamples into ~95 ms bursts) waits for its scores,
a tick at most, since the next chunk is far off. A decision is thus at most about a tick
late (the VAD waits 0.2 s to start and 0.5 s to stop anyway); a lone call is scored at
once. No thread, no per-chunk hand-off.

    analyzer = BatchedSileroVADAnalyzer(params=VADParams(...))   # one per call
"""

from __future__ import annotations

import asyncio
import logging
import sys
import weakref
from collections import deque
from collections.abc import Callable
from importlib import resources
from typing import ClassVar

import numpy as np
import onnxruntime  # type: ignore[import-untyped]
from numpy.typing import NDArray
from pipecat.audio.vad.silero import (
    _MODEL_RESET_INTERVAL_SECS,
    _MODEL_RESET_LOW_CONFIDENCE_WINDOWS,
    _MODEL_RESET_MAX_CONFIDENCE,
)
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState
from pipecat.audio.volume import AudioVolumeTracker

log = logging.getLogger(__name__)

DEFAULT_TICK_SECS = 0.016  # half a window
DEFAULT_MAX_BATCH = 256
# A stream that fell behind (its loop was busy) catches up by up to this many windows a tick.
MAX_ROUNDS = 4
_STATE_SIZE = 128
# Loudness (ITU-R BS.1770, what Pipecat's volume gate measures) drops a 400 ms block below
# -70 LUFS: the block then reads -inf, a volume of 0. K-weighting raises no frequency by
# more than 4.2 dB (x2.6 in power), so audio whose mean square is under
# 10**(-69.309 / 10) / 2.6 of full scale (48 LSB^2) is gated whatever its spectrum; half
# of that, for margin: digital silence and the faintest hiss.
_GATED_MEAN_SQUARE_LSB2 = 24.0
_RATES = (8000, 16000)

FloatArray = NDArray[np.float32]
OnScore = Callable[[bytes, float, bool], None]  # window, confidence, last of its chunk


def window_samples(sample_rate: int) -> int:
    """Samples in one Silero window: 512 at 16 kHz, 256 at 8 kHz (32 ms)."""
    return 512 if sample_rate == 16000 else 256


def _context_samples(sample_rate: int) -> int:
    return 64 if sample_rate == 16000 else 32


def _model_path() -> str:
    return str(resources.files("pipecat.audio.vad.data").joinpath("silero_vad.onnx"))


_session: onnxruntime.InferenceSession | None = None


def _shared_session() -> onnxruntime.InferenceSession:
    """The process's Silero session (safe to run from any thread), configured as Pipecat's."""
    global _session
    if _session is None:
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        _session = onnxruntime.InferenceSession(
            _model_path(), providers=["CPUExecutionProvider"], sess_options=options
        )
    return _session


class SileroStream:
    """One audio stream's row in the batches: the model's recurrent state, the tail of its
    previous window, and its windows waiting to be scored (in order, one per batch)."""

    def __init__(self, sample_rate: int, on_score: OnScore) -> None:
        self.sample_rate = sample_rate
        self.on_score = on_score
        self.state: FloatArray = np.zeros((2, _STATE_SIZE), dtype=np.float32)
        self.context: FloatArray = np.zeros(_context_samples(sample_rate), dtype=np.float32)
        self.waiting: deque[tuple[bytes, bool]] = deque()  # (window, last of its chunk)
        self.drained: asyncio.Future[None] | None = None  # resolved when nothing waits
        self.windows_since_reset = 0
        self.low_confidence_windows = 0

    def reset(self) -> None:
        """Clear the model's memory (Silero's periodic reset)."""
        self.state = np.zeros((2, _STATE_SIZE), dtype=np.float32)
        self.context = np.zeros(_context_samples(self.sample_rate), dtype=np.float32)


class SileroBatcher:
    """Scores Silero windows from many streams together, on its event loop.

    ``submit`` queues a window; the first one of a tick arms a timer, and when it fires
    the oldest waiting window of every stream is scored in one ``session.run`` per sample
    rate, then each stream's ``on_score`` is called in order (a stream never has two
    windows in one batch: the second needs the state the first leaves). Streams that
    still have windows waiting go again, up to ``MAX_ROUNDS`` batches a tick. The timer is
    not waited for when every live stream has a window waiting (a lone call is scored at
    once) or ``max_batch`` streams do. One batcher per event loop
    (``SileroBatcher.for_running_loop()``); they share the process's ONNX session.
    """

    _by_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SileroBatcher]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(
        self, *, tick_secs: float = DEFAULT_TICK_SECS, max_batch: int = DEFAULT_MAX_BATCH
    ) -> None:
        self.tick_secs = tick_secs
        self.max_batch = max_batch
        self._ready: dict[SileroStream, None] = {}  # streams with windows waiting, in order
        self._timer: asyncio.TimerHandle | None = None
        self._streams: weakref.WeakSet[SileroStream] = weakref.WeakSet()
        self.batches = 0
        self.windows = 0

    @classmethod
    def for_running_loop(cls) -> SileroBatcher:
        """The batcher of the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        batcher = cls._by_loop.get(loop)
        if batcher is None:
            batcher = cls._by_loop[loop] = cls()
        return batcher

    def attach(self, stream: SileroStream) -> None:
        """Count ``stream`` among the live ones (held weakly: a call that goes away stops
        counting even if it never says so)."""
        self._streams.add(stream)

    def detach(self, stream: SileroStream) -> None:
        self._streams.discard(stream)
        self._ready.pop(stream, None)
        stream.waiting.clear()
        _resolve(stream)

    def submit(self, stream: SileroStream, pcm: bytes, *, last: bool = True) -> None:
        """Queue one window (16-bit PCM) of ``stream``; ``stream.on_score`` gets it scored
        (``last``: the last window the caller's chunk of audio completes)."""
        stream.waiting.append((pcm, last))
        self._ready[stream] = None
        ready = len(self._ready)
        if ready >= self.max_batch or ready >= len(self._streams):
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.tick_secs, self.flush)

    def flush(self) -> None:
        """Score what waits now: one window per stream a batch, up to ``MAX_ROUNDS``."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for _ in range(MAX_ROUNDS):
            if not self._ready:
                return
            streams, self._ready = list(self._ready), {}
            for rate in _RATES:
                batch = [s for s in streams if s.sample_rate == rate and s.waiting]
                if batch:
                    self._score(rate, batch)
        if self._ready:  # still behind: the rest next tick
            self._timer = asyncio.get_running_loop().call_later(self.tick_secs, self.flush)

    def _score(self, rate: int, batch: list[SileroStream]) -> None:
        items = [stream.waiting.popleft() for stream in batch]
        windows = [pcm for pcm, _ in items]
        try:
            confidences = self._run(rate, batch, windows)
        except Exception:  # a window that cannot be scored must not stop the calls
            log.exception("Silero VAD could not score %d windows", len(batch))
            confidences = [0.0] * len(batch)
        for stream, (window, last), confidence in zip(batch, items, confidences, strict=True):
            if stream.waiting:
                self._ready[stream] = None
            try:
                stream.on_score(window, confidence, last)
            except Exception:
                log.exception("applying a VAD score failed")
            if not stream.waiting:
                _resolve(stream)

    def _run(self, rate: int, batch: list[SileroStream], windows: list[bytes]) -> list[float]:
        size, context = window_samples(rate), _context_samples(rate)
        count = len(batch)
        x = np.empty((count, context + size), dtype=np.float32)
        state = np.empty((2, count, _STATE_SIZE), dtype=np.float32)
        for row, (stream, pcm) in enumerate(zip(batch, windows, strict=True)):
            x[row, :context] = stream.context
            x[row, context:] = np.frombuffer(pcm, dtype="<i2")
            state[:, row] = stream.state
        x[:, context:] *= 1.0 / 32768.0
        output, new_state = _shared_session().run(
            None, {"input": x, "state": state, "sr": np.array(rate, dtype=np.int64)}
        )
        for row, stream in enumerate(batch):
            stream.state = new_state[:, row]
            stream.context = x[row, -context:]
        self.batches += 1
        self.windows += count
        return [float(c) for c in output[:, 0]]


def _resolve(stream: SileroStream) -> None:
    drained, stream.drained = stream.drained, None
    if drained is not None and not drained.done():
        drained.set_result(None)


class GatedVolumeTracker(AudioVolumeTracker):
    """Pipecat's volume tracker, minus the loudness measurement (~80-100 us, 30 times a
    second a call) when the window is too quiet to pass BS.1770's absolute gate: the
    volume is then 0, exactly what the measurement returns (checked by a dot product,
    ~5 us). Between phrases a phone line is often digital silence."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    @property
    def volume(self) -> float:
        if self._volume is None and _gated(self._buffer):
            self._volume = 0.0
        return super().volume


def _gated(pcm: bytes | bytearray) -> bool:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return bool(samples.dot(samples) < _GATED_MEAN_SQUARE_LSB2 * max(1, samples.size))


class BatchedSileroVADAnalyzer(VADAnalyzer):
    """Pipecat's Silero VAD, scored through a shared ``SileroBatcher`` (8 or 16 kHz).

    Decisions follow ``SileroVADAnalyzer``'s: the same model, parameters, volume gate and
    state-reset policy, window by window. Audio is analysed on the event loop, not in a
    thread, and ``analyze_audio`` never waits for a batch.
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        params: VADParams | None = None,
        batcher: SileroBatcher | None = None,
    ) -> None:
        super().__init__(sample_rate=sample_rate, params=params)
        self._volume_tracker = GatedVolumeTracker()
        # Load the model now (once a process, ~0.1-0.3 s), as the call is set up, rather
        # than on its first window, which would stall the event loop mid-call.
        _shared_session()
        self._batcher = batcher
        self._stream: SileroStream | None = None
        self._attached: SileroBatcher | None = None
        self._unscored = b""  # audio not yet making a whole window
        self._confidences: deque[float] = deque()

    def set_sample_rate(self, sample_rate: int) -> None:
        if sample_rate not in _RATES:
            raise ValueError(
                f"Silero VAD sample rate needs to be 16000 or 8000 (sample rate: {sample_rate})"
            )
        super().set_sample_rate(sample_rate)
        self._detach()
        self._unscored = b""
        self._stream = SileroStream(self.sample_rate, self._apply_score)

    def num_frames_required(self) -> int:
        return window_samples(self.sample_rate)

    def voice_confidence(self, buffer: bytes) -> float:
        """The score of this window (``_run_analyzer`` asks as it goes through it)."""
        confidence = self._confidences.popleft() if self._confidences else 0.0
        self._maybe_reset_model(confidence)
        return confidence

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """Queue each window ``buffer`` completes for scoring; return the state as of the
        windows scored so far (a lone call's are scored before this returns)."""
        stream = self._stream
        if stream is None:
            return self._vad_state
        batcher = self._attached
        if batcher is None:
            batcher = self._attached = self._batcher or SileroBatcher.for_running_loop()
            batcher.attach(stream)
        pending = self._unscored + buffer
        size = self._vad_frames_num_bytes
        whole = len(pending) - len(pending) % size
        self._unscored = pending[whole:]
        for start in range(0, whole, size):
            batcher.submit(stream, pending[start : start + size], last=start + size == whole)
        if whole and self._may_decide(len(stream.waiting)):
            # These windows may confirm a start or a stop: scored now, with whatever else
            # waits, not at the tick (and reported now, not with the next chunk). Once
            # or twice a turn, so batches stay large.
            batcher.flush()
        if whole >= 2 * size and stream.waiting:
            # Audio comes in bursts here (Pipecat's Twilio input yields ~95 ms at a time):
            # the next call is far off, so wait for this burst's scores (a tick at most)
            # rather than report them a burst late. Chunks of a window or less come often
            # enough for the next call to report them.
            stream.drained = asyncio.get_running_loop().create_future()
            await stream.drained
        return self._vad_state

    def _may_decide(self, unscored: int) -> bool:
        """Whether scoring ``unscored`` more windows can bring the frame count of the
        current state to its threshold (a start or a stop confirmed)."""
        state = self._vad_state
        if state in (VADState.SPEAKING, VADState.STOPPING):
            stopping = self._vad_stopping_count if state == VADState.STOPPING else 0
            return stopping + unscored >= self._vad_stop_frames
        starting = self._vad_starting_count if state == VADState.STARTING else 0
        return starting + unscored >= self._vad_start_frames

    def _apply_score(self, window: bytes, confidence: float, last: bool) -> None:
        """A window was scored: run Pipecat's analysis (volume, state machine) over it.

        Pipecat confirms a start or a stop (the frame counts reaching their thresholds)
        once per chunk of audio, after all the windows the chunk completes; so for a
        window that is not its chunk's last, the thresholds are put out of reach while
        Pipecat's code runs. Decisions, and Silero's resets, which depend on them, stay
        those of ``SileroVADAnalyzer`` fed the same chunks.
        """
        self._confidences.append(confidence)
        if last:
            self._run_analyzer(window)
            return
        start, stop = self._vad_start_frames, self._vad_stop_frames
        self._vad_start_frames = self._vad_stop_frames = sys.maxsize
        try:
            self._run_analyzer(window)
        finally:
            self._vad_start_frames, self._vad_stop_frames = start, stop

    async def cleanup(self) -> None:
        await super().cleanup()  # type: ignore[no-untyped-call]
        self._detach()

    def _detach(self) -> None:
        if self._attached is not None and self._stream is not None:
            self._attached.detach(self._stream)
        self._attached = None

    def _maybe_reset_model(self, confidence: float) -> None:
        """``SileroVADAnalyzer``'s policy: after 2 s of audio, reset the recurrent state
        at the first clearly quiet moment (non-speech otherwise dulls the model)."""
        stream = self._stream
        if stream is None:
            return
        stream.windows_since_reset += 1
        if confidence < _MODEL_RESET_MAX_CONFIDENCE:
            stream.low_confidence_windows += 1
        else:
            stream.low_confidence_windows = 0
        if (
            stream.windows_since_reset * self.num_frames_required()
            >= _MODEL_RESET_INTERVAL_SECS * self.sample_rate
            and self._vad_state == VADState.QUIET
            and stream.low_confidence_windows >= _MODEL_RESET_LOW_CONFIDENCE_WINDOWS
        ):
            stream.reset()
            stream.windows_since_reset = 0
