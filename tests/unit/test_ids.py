"""Ids made in bulk are version-4 UUIDs written as ``new_id`` writes them, all distinct."""

import uuid

from openrevox.storage.models import new_id, new_ids


def test_bulk_ids_are_canonical_version_4_uuids() -> None:
    ids = new_ids(5000)
    assert len(ids) == len(set(ids)) == 5000
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # lower case, dashes where new_id puts them
    assert len(new_id()) == len(ids[0])
    assert new_ids(0) == []
