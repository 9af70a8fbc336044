"""`client_state`: the call a Telnyx event belongs to, carried by Telnyx itself.

We pass it on the dial command and Telnyx echoes it in `data.payload.client_state` of every event of that call,
so a webhook finds its call (and tenant) without a lookup. Telnyx requires base64; the content is compact JSON.
"""

from __future__ import annotations

import base64
import binascii

import orjson


def encode(*, call_id: str, account_id: int) -> str:
    return base64.b64encode(orjson.dumps({"call_id": call_id, "account_id": account_id})).decode()


def decode(value: str | None) -> tuple[str, int] | None:
    """(call_id, account_id), or None for anything that is not a value `encode` made. Never raises: the value
    arrives from the network and may come from another application sharing the Telnyx connection."""
    if not isinstance(value, str) or not value:
        return None
    try:
        data = orjson.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):  # orjson.JSONDecodeError is a ValueError
        return None
    if not isinstance(data, dict):
        return None
    call_id, account_id = data.get("call_id"), data.get("account_id")
    # bool is an int subclass: {"account_id": true} must not name tenant 1
    if not isinstance(call_id, str) or not call_id or type(account_id) is not int:
        return None
    return call_id, account_id
