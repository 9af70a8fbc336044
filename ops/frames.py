"""A subscription event's answer, encoded once for all the sockets it goes to.

Subscribers who share an event's execution (schema/sharing.py) get the very same `data` object in their `next`
message; only the operation id and the per-operation `extensions` (its cost) differ. The encoding of that object
is kept, by identity, for the few hundred most recent ones (each kept with its object, so no id is reused while
it is cached, as an orjson Fragment); each message is encoded with that in place of its `data`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping

import orjson

KEPT = 256


class Frames:
    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._encoded: OrderedDict[int, tuple[object, orjson.Fragment]] = OrderedDict()

    def encode(self, message: Mapping[str, object], whole: Callable[[Mapping[str, object]], str]) -> str:
        payload = message.get("payload")
        kind = message.get("type")
        if kind not in ("next", "data") or not isinstance(payload, dict) or payload.get("data") is None:
            return whole(message)
        data = payload["data"]
        found = self._encoded.get(id(data))
        if found is None or found[0] is not data:
            found = (data, orjson.Fragment(orjson.dumps(data)))
            self._encoded[id(data)] = found
            if len(self._encoded) > self.kept:
                self._encoded.popitem(last=False)
        # the message as it is, its `data` the encoded one (an orjson Fragment goes out as it is): one encoding
        # of the small rest, where one for each member and a string built around them took half as long again
        payload = payload.copy()
        payload["data"] = found[1]
        return orjson.dumps({"id": message.get("id"), "type": kind, "payload": payload}).decode()


FRAMES = Frames()
