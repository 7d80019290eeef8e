"""Ids made in bulk are version-7 UUIDs in increasing order, written as ``new_id`` writes
its own, all distinct."""

import time
import uuid

from openrevox.storage.models import new_id, new_ids


def test_bulk_ids_are_canonical_version_7_uuids_in_increasing_order() -> None:
    before_ms = time.time_ns() // 1_000_000
    ids = new_ids(5000)
    after_ms = time.time_ns() // 1_000_000
    assert len(ids) == len(set(ids)) == 5000
    assert ids == sorted(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # lower case, dashes where new_id puts them
        assert before_ms <= parsed.int >> 80 <= after_ms  # the time they were made
    assert len(new_id()) == len(ids[0])
    assert new_ids(0) == []


def test_two_batches_of_one_millisecond_do_not_collide() -> None:
    first, second = new_ids(3000), new_ids(3000)
    assert not set(first) & set(second)


def test_more_ids_than_the_counter_holds_stay_ordered() -> None:
    ids = new_ids((1 << 20) + 10)
    assert ids == sorted(ids)
    assert uuid.UUID(ids[-1]).int >> 80 == (uuid.UUID(ids[0]).int >> 80) + 1
