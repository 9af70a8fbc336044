"""Collection names and the handle cache: pure, no server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datasources.vectors.handles import Handles
from datasources.vectors.layout import MIGRATIONS, Kind, account_of, collection_name


@given(st.sampled_from(list(Kind)), st.integers(min_value=1, max_value=2**63))
def test_a_name_says_its_kind_and_account(kind: Kind, account_id: int) -> None:
    assert account_of(collection_name(kind, account_id)) == (kind, account_id)


@pytest.mark.parametrize("name", ["leads", "conversations", MIGRATIONS, "leads_", "leads_0", "leads_007",
                                  "leads_-1", "calls_3", "leads_3x", "xleads_3"])
def test_other_names_are_no_account_collection(name: str) -> None:
    assert account_of(name) is None


def test_account_ids_must_be_positive() -> None:
    with pytest.raises(ValueError, match="account_id"):
        collection_name(Kind.LEADS, 0)


def test_handles_evict_the_least_recently_used() -> None:
    handles: Handles[int, str] = Handles(2)
    handles.put(1, "one")
    handles.put(2, "two")
    assert handles.get(1) == "one"  # 2 is now the least recently used
    handles.put(3, "three")
    assert (handles.get(1), handles.get(2), handles.get(3)) == ("one", None, "three")
    handles.forget(1)
    assert handles.get(1) is None and len(handles) == 1
    handles.clear()
    assert len(handles) == 0
    with pytest.raises(ValueError, match="capacity"):
        Handles(0)
