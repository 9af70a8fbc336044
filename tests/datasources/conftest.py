"""Fixtures the adapters' tests share."""

from __future__ import annotations

from typing import Any

import pytest

from datasources.coalesce import Coalescer


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each group of calls a Coalescer sends from here on (datasources/coalesce.py)."""
    sizes: list[int] = []
    send = Coalescer._send

    async def counted(self: Coalescer[Any], key: Any, calls: list[Any]) -> None:
        sizes.append(len(calls))
        await send(self, key, calls)

    monkeypatch.setattr(Coalescer, "_send", counted)
    return sizes
