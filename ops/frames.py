"""A subscription event's answer, encoded once for all the sockets it goes to.

Subscribers who share an event's execution (schema/sharing.py) get the very same `data` object in their `next`
message; only the operation id and the per-operation `extensions` (its cost) differ. The encoding of that object
is kept, by identity, for the few hundred most recent ones (each kept with its object, so no id is reused while
it is cached); each message is its id, the shared `data` and its own other members around it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping

import orjson

KEPT = 256


class Frames:
    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._encoded: OrderedDict[int, tuple[object, str]] = OrderedDict()

    def encode(self, message: Mapping[str, object], whole: Callable[[Mapping[str, object]], str]) -> str:
        payload = message.get("payload")
        kind = message.get("type")
        if kind not in ("next", "data") or not isinstance(payload, dict) or payload.get("data") is None:
            return whole(message)
        data = payload["data"]
        found = self._encoded.get(id(data))
        if found is None or found[0] is not data:
            found = (data, orjson.dumps(data).decode())
            self._encoded[id(data)] = found
            if len(self._encoded) > self.kept:
                self._encoded.popitem(last=False)
        rest = {k: v for k, v in payload.items() if k != "data"}
        members = "," + orjson.dumps(rest).decode()[1:-1] if rest else ""
        op_id = orjson.dumps(message.get("id")).decode()
        return f'{{"id":{op_id},"type":"{kind}","payload":{{"data":{found[1]}{members}}}}}'


FRAMES = Frames()
