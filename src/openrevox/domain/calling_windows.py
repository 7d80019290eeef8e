"""Calling-window times: ``'HH:mm'`` (24-hour) or ``'H:mma'`` / ``'6pm'`` (12-hour)."""

from __future__ import annotations

import re
from datetime import time

_24H = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_12H = re.compile(r"^(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*([ap])\.?m\.?$", re.IGNORECASE)


def parse_window_time(text: str) -> time:
    """Parse a window boundary. ``'24:00'`` means the end of the day."""
    value = text.strip()
    if value == "24:00":
        return time.max
    match = _24H.match(value)
    if match:
        return time(int(match.group(1)), int(match.group(2)))
    match = _12H.match(value)
    if match:
        hour = int(match.group(1)) % 12
        if match.group(3).lower() == "p":
            hour += 12
        return time(hour, int(match.group(2) or 0))
    raise ValueError(
        f"{text!r} is not a time of day: use 'HH:mm' (24-hour, e.g. '17:30') "
        "or 'H:mma' (12-hour, e.g. '9am', '5:30pm')"
    )
