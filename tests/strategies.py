"""Hypothesis strategies the hostile-input properties share."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

INT64 = (-(2**63), 2**64 - 1)  # the integers orjson writes


def json_values(*, max_leaves: int = 8, any_int: bool = False, nan: bool = False) -> st.SearchStrategy[Any]:
    """Any JSON value: scalars, lists and objects nested a few deep. `any_int` and `nan` add what the JSON
    text allows but not every encoder writes (integers beyond 64 bits, NaN and infinities)."""
    integers = st.integers() if any_int else st.integers(*INT64)
    scalars = st.none() | st.booleans() | integers | st.floats(allow_nan=nan, allow_infinity=nan) | st.text(max_size=10)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=max_leaves,
    )
