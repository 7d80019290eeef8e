"""Start-up objects leave the collector's generations (heap.py)."""

from __future__ import annotations

import gc

from openrevox.heap import freeze_startup_objects


def test_survivors_of_start_up_are_frozen_and_no_longer_walked() -> None:
    survivor = ["made at start-up"]  # a list: always tracked by the collector
    walked_before = len(gc.get_objects(generation=2)) + len(gc.get_objects(generation=1))
    try:
        frozen = freeze_startup_objects()
        # Frozen objects are still freed when their last reference goes: the count can drop.
        assert frozen > 0 and gc.get_freeze_count() > 0
        walked_after = sum(len(gc.get_objects(generation=g)) for g in (0, 1, 2))
        assert walked_after < walked_before / 10
        assert not any(o is survivor for o in gc.get_objects())
        later = ["made after start-up"]
        assert any(o is later for o in gc.get_objects(generation=0))
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
    assert any(o is survivor for o in gc.get_objects())
