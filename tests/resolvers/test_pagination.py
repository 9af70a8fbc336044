from datetime import UTC, datetime

import pytest

from resolvers.errors import InputError
from resolvers.pagination import check_first, decode_cursor, encode_cursor, page


def test_cursor_round_trips_datetimes_and_ids() -> None:
    at = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, "abc"), arity=2) == [at, "abc"]
    assert decode_cursor(encode_cursor(7), arity=1) == [7]


@pytest.mark.parametrize("cursor", ["", "!!", encode_cursor(1, 2, 3), "eyJhIjoxfQ"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InputError, match="after: .* is not a cursor from this list"):
        decode_cursor(cursor, arity=2)


def test_page_size_is_bounded() -> None:
    assert check_first(100, 100) == 100
    for bad in (0, -1, 101):
        with pytest.raises(InputError, match="first: must be between 1 and 100"):
            check_first(bad, 100)


def test_page_uses_the_extra_row_only_to_say_more_exist() -> None:
    result = page([1, 2, 3], 2, lambda i: f"c{i}", has_previous=False)
    assert (result.items, result.cursors, result.has_next) == ([1, 2], ["c1", "c2"], True)
    last = page([1], 2, lambda i: f"c{i}", has_previous=True)
    assert (last.has_next, last.has_previous) == (False, True)
