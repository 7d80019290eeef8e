"""Resource identifiers as the API hands them out."""

from __future__ import annotations

import re

_RESOURCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_resource_id(text: str) -> bool:
    """True for text that can be one of our ids; anything else names nothing (404)."""
    return bool(_RESOURCE_ID.match(text))
