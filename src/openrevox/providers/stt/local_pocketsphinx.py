"""Local offline speech to text: pocketsphinx (its bundled en-US model) as a Pipecat service.

A segmented service: the VAD cuts the caller's speech into utterances; each is
decoded in a worker process (pocketsphinx holds the GIL, which would stall the
call's audio if it ran in a thread) and pushed as one final ``TranscriptionFrame``.
The workers are shared by every call of the server process and load the model once.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pipecat.frames.frames import Frame, StartFrame, TranscriptionFrame
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601

from openrevox.providers.stt import pocketsphinx_worker as worker
from openrevox.runtime.audio.pcm import resample_pcm16

log = logging.getLogger(__name__)
MODEL_NAME = "pocketsphinx-en-us"
MODEL_RATE = worker.MODEL_RATE


class DecoderProcesses:
    """A lazily started pool of decoding processes (one per core by default)."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or min(4, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> Executor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=worker.load,
                )
            return self._pool

    def warm_up(self) -> None:
        """Start the processes now (each loads its model), without waiting for them."""
        for _ in range(self._workers):
            self.executor().submit(worker.ready)

    async def decode(self, pcm16k: bytes) -> str:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor(), worker.decode_here, pcm16k)
        except BrokenProcessPool:  # a worker died: start a new pool for the next one
            log.warning("pocketsphinx worker died; restarting the pool")
            self.shutdown()
            return await loop.run_in_executor(self.executor(), worker.decode_here, pcm16k)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


PROCESSES = DecoderProcesses()


def transcribe(pcm: bytes, sample_rate: int) -> str:
    """Blocking helper (in this process): one utterance of 16-bit mono PCM to text."""
    return worker.decode(_local_decoder(), resample_pcm16(pcm, sample_rate, MODEL_RATE))


_local: list[Any] = []
_local_lock = threading.Lock()


def _local_decoder() -> Any:
    with _local_lock:
        if not _local:
            _local.append(worker.new_decoder())
        return _local[0]


class LocalPocketsphinxSTTService(SegmentedSTTService):
    """Pipecat STT service transcribing each VAD segment with pocketsphinx.

    ``context_terms`` are accepted for interface parity and ignored: the bundled
    language model cannot be biased without rebuilding it. A segment that fails to
    decode is logged and dropped; the call goes on.
    """

    def __init__(
        self,
        *,
        context_terms: Sequence[str] = (),
        processes: DecoderProcesses | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(settings=STTSettings(model=MODEL_NAME, language=Language.EN_US), **kwargs)
        self.context_terms = tuple(context_terms)
        self._processes = processes or PROCESSES

    @property
    def wants_wav_segments(self) -> bool:
        return False

    def can_generate_metrics(self) -> bool:
        return True

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        self._processes.warm_up()

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        """Decode one segment in a worker process; yield its transcript if any."""
        await self.start_processing_metrics()
        try:
            pcm16k = resample_pcm16(audio, self.sample_rate, MODEL_RATE)
            text = await self._processes.decode(pcm16k)
        except Exception:  # a bad segment must not end the call
            log.exception("pocketsphinx could not decode a segment")
            return
        finally:
            await self.stop_processing_metrics()
        if text:
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601(), Language.EN_US)
