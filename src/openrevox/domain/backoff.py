"""Retry delays of durable jobs: exponential backoff with jitter, pure."""

from __future__ import annotations


def retry_delay(tries: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait after the ``tries``-th failed try (1 for the first failure).

    The delay doubles from ``base`` up to ``cap``; ``jitter`` in [0, 1) (a random draw)
    spreads it over the upper half, ``[d/2, d)``, so retries of many jobs that failed
    together do not arrive together.
    """
    if tries < 1:
        raise ValueError("tries counts failed tries, from 1")
    if not 0 <= jitter < 1:
        raise ValueError("jitter is a draw in [0, 1)")
    delay = min(cap, base * 2.0 ** min(tries - 1, 62))
    return delay / 2 + jitter * delay / 2
