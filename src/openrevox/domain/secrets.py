"""Masking of provider secrets shown back to API clients."""

from __future__ import annotations

MASK_PREFIX = "****"


def mask(secret: str) -> str:
    """Show only the last four characters, and none of a short secret."""
    if len(secret) <= 8:
        return MASK_PREFIX * 2
    return MASK_PREFIX + secret[-4:]


def is_mask_of(candidate: str, secret: str) -> bool:
    """True when ``candidate`` is what ``mask`` shows for ``secret``."""
    return candidate == mask(secret)
