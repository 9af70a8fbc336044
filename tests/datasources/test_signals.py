"""The signals' send keeps blinker's behaviour: weak receivers, receivers for one sender, muting, coroutines."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from datasources.signals import Signal


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, sender: Any, **kwargs: Any) -> str:
        self.got.append((sender, kwargs))
        return "seen"

    def method(self, sender: Any, **kwargs: Any) -> None:
        self.got.append((sender, kwargs))


def test_send_reaches_every_receiver_with_its_keywords() -> None:
    signal, first, second = Signal("test"), Receiver(), Receiver()
    assert signal.send("nobody") == []
    signal.connect(first)
    signal.connect(second.method)
    assert (first, "seen") in signal.send("store", seconds=1.5)
    assert first.got == second.got == [("store", {"seconds": 1.5})]
    signal.disconnect(first)
    signal.send("again")
    assert len(first.got) == 1 and len(second.got) == 2


def test_a_collected_receiver_is_no_longer_called() -> None:
    signal, kept = Signal("test"), Receiver()
    gone = Receiver()
    signal.connect(kept.method)
    signal.connect(gone.method)
    signal.send("before")
    del gone
    gc.collect()
    assert [receiver for receiver, _ in signal.send("after")] == [kept.method]


def test_a_receiver_for_one_sender_hears_that_sender_only() -> None:
    signal, anyone, only_mongo = Signal("test"), Receiver(), Receiver()
    signal.connect(anyone)
    signal.connect(only_mongo, sender="mongodb")
    signal.send("postgresql")
    signal.send("mongodb")
    assert [sender for sender, _ in anyone.got] == ["postgresql", "mongodb"]
    assert [sender for sender, _ in only_mongo.got] == ["mongodb"]


def test_muted_sends_nothing_and_a_coroutine_receiver_is_refused() -> None:
    signal, receiver = Signal("test"), Receiver()
    signal.connect(receiver)
    with signal.muted():
        assert signal.send("quiet") == []
    assert receiver.got == []

    async def coroutine(sender: Any) -> None: ...

    signal.connect(coroutine, weak=False)
    with pytest.raises(RuntimeError):
        signal.send("loud")
