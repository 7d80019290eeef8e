"""The garbage collector in long-running processes (``openrevox serve`` and ``worker``).

Start-up imports FastAPI, SQLAlchemy, Pipecat and the rest: hundreds of thousands of
objects that live as long as the process. CPython's full collections walk every one of
them each time, pausing the event loop that answers requests and carries live call audio
for 100 ms and more (bench/api.py saw a p99 of ~140 ms where the median was 6 ms). Moved
to the permanent generation once start-up is done, they are no longer walked: a full
collection then only looks at what was made since. Objects made later are collected as
usual; the frozen ones are still freed when their last reference goes.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect what start-up left behind, then freeze every survivor; the frozen count."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
