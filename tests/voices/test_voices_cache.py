"""The catalog cache: TTL on an injected clock, failures not kept, one fetch at a time."""

from __future__ import annotations

import asyncio

import pytest

from openrevox.providers.voices.base import VoiceProviderUnavailable
from openrevox.providers.voices.cartesia import CartesiaVoices
from openrevox.services.voices import CatalogCache
from openrevox.testing.fake_cartesia import FakeCartesia, VendorFailure


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_ttl_failures_and_single_flight() -> None:
    clock = Clock()
    cache = CatalogCache(ttl=60, clock=clock)
    with FakeCartesia(api_key="k") as cartesia:
        vendor = CartesiaVoices(cartesia.base_url, "k", timeout=5)
        assert cache.peek(vendor) is None
        first = await cache.get(vendor)
        assert cache.peek(vendor) == first and cache.fetches == 1
        clock.now += 59
        assert await cache.get(vendor) == first and cache.fetches == 1
        clock.now += 2
        assert cache.peek(vendor) is None
        cartesia.fail_next(VendorFailure(503))
        with pytest.raises(VoiceProviderUnavailable):
            await cache.get(vendor)
        assert cache.peek(vendor) is None  # a failure is not kept
        cartesia.delay = 0.2
        results = await asyncio.gather(*(cache.get(vendor) for _ in range(4)))
        assert all(r == first for r in results)
        assert len(cartesia.requests_to("GET", "/voices")) == 3  # ok, failed, one for four
        # Another key is another account: its own entry.
        other = CartesiaVoices(cartesia.base_url, "other-key", timeout=5)
        assert other.identity != vendor.identity and "other-key" not in other.identity
        cache.invalidate("cartesia")
        assert cache.peek(vendor) is None
