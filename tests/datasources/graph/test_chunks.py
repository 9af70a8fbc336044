"""How graph writes and restores split their parameters into requests (datasources/graph/store.py `chunks`)."""

from __future__ import annotations

import json

import pytest

from datasources.graph.store import chunks


def test_pieces_stay_within_the_budget_and_keep_the_order() -> None:
    items = [{"k": "x" * n} for n in range(40)]
    pieces = list(chunks(items, 200))
    assert [i for piece in pieces for i in piece] == items
    assert all(sum(len(json.dumps(i)) + 1 for i in piece) <= 200 for piece in pieces)


def test_no_budget_is_one_piece_unless_a_count_is_set() -> None:
    items = list(range(5))
    assert list(chunks(items, None)) == [items]
    assert list(chunks(items, None, most=2)) == [[0, 1], [2, 3], [4]]
    assert list(chunks([], None)) == []


def test_an_item_over_the_budget_raises_or_goes_alone() -> None:
    big = {"k": "x" * 500}
    with pytest.raises(ValueError, match="too large"):
        list(chunks([{"k": 1}, big], 100))
    assert list(chunks([{"k": 1}, big, {"k": 2}], 100, strict=False)) == [[{"k": 1}], [big], [{"k": 2}]]
