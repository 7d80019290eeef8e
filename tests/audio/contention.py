"""How busy the machine is while a real-time test runs, to scale its timing budgets.

The audio tests stream in real time and check timings (an agent cut off within 1.5 s,
no gap over 150 ms in its audio, a reply within 0.6 s of the LLM's). Those budgets
hold on an idle machine; when other work competes for the cores (a second test suite,
a benchmark) every step of the pipeline waits its turn and they stretch.

A probe process, separate from the test's (so it does not share its interpreter lock),
asks for 2 ms of CPU every 50 ms and records how much wall time that took: about 2 ms
on an idle core, N times that when N runnable tasks share it. ``factor(since, until)``
is the slowdown over a period (90th percentile, at least 1), by which a budget is
multiplied. A regression the budgets guard (an event loop blocked for 0.3 s on an idle
machine) is blocked for longer on a busy one too, so it is still caught.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_PROBE = """
import sys, time
CPU = 0.002
while True:
    time.sleep(0.05)
    wall, cpu = time.perf_counter(), time.process_time()
    while time.process_time() - cpu < CPU:
        pass
    print(f"{time.monotonic():.4f} {(time.perf_counter() - wall) / CPU:.3f}", flush=True)
"""


class CpuContention:
    """Slowdown samples from the probe process (``time.monotonic`` stamps)."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._process = subprocess.Popen(
            [sys.executable, "-c", _PROBE], stdout=subprocess.PIPE, text=True
        )
        self._reader = threading.Thread(target=self._read, name="cpu-probe", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            at, slowdown = line.split()
            self.samples.append((float(at), float(slowdown)))

    def factor(self, since: float, until: float | None = None) -> float:
        """How many times slower than an idle machine the period was (>= 1)."""
        end = time.monotonic() if until is None else until
        values = sorted(s for at, s in list(self.samples) if since - 0.1 <= at <= end + 0.1)
        if not values:
            return 1.0
        return max(1.0, values[int(0.9 * (len(values) - 1))])

    def close(self) -> None:
        self._process.kill()
        self._process.wait(timeout=5)


@contextmanager
def cpu_contention() -> Iterator[CpuContention]:
    probe = CpuContention()
    try:
        yield probe
    finally:
        probe.close()
