"""Which collections a Chroma backup covers, and how its manifest counts them: pure, no server."""

from __future__ import annotations

import pytest

from datasources.vectors.backup import count_key, ours


@pytest.mark.parametrize("name", ["leads_1", "conversations_42", "leads", "conversations", "switchboard_migrations"])
def test_every_collection_of_ours_is_covered(name: str) -> None:
    assert ours(name)


@pytest.mark.parametrize("name", ["someone_elses", "leads_0", "calls_3"])
def test_other_programs_collections_are_left_out(name: str) -> None:
    assert not ours(name)


def test_items_are_counted_by_kind_and_headers_not_at_all() -> None:
    assert count_key({"collection": "leads_7", "id": "a"}) == "leads"
    assert count_key({"collection": "conversations_7", "id": "a"}) == "conversations"
    assert count_key({"collection": "leads", "id": "a"}) == "leads"  # a version 1 store's shared collection
    assert count_key({"collection": "leads_7", "metadata": None}) is None
