from __future__ import annotations

from typing import Any

from datasources import signals
from datasources.instrument import StoreStats, collecting, round_trip


@round_trip("mongodb")
async def fake_call(value: int) -> int:
    return value * 2


async def test_round_trips_are_counted_only_where_collected() -> None:
    seen: list[tuple[str, str]] = []

    def observe(store: str, operation: str, seconds: float, **_: Any) -> None:
        seen.append((store, operation))

    signals.store_round_trip.connect(observe)
    try:
        assert await fake_call(1) == 2
        stats = StoreStats()
        with collecting(stats):
            await fake_call(2)
            await fake_call(3)
        await fake_call(4)
    finally:
        signals.store_round_trip.disconnect(observe)
    assert stats.as_dict()["mongodb"]["calls"] == 2
    assert seen == [("mongodb", "fake_call")] * 4
