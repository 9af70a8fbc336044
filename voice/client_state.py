"""`client_state`: the call a Telnyx event belongs to, carried by Telnyx itself and tagged under a server key.

We pass it on the dial command and Telnyx echoes it in `data.payload.client_state` of every event of that call,
so a webhook finds its call (and tenant) without a lookup. Telnyx requires base64; the content is compact JSON,
`{"call_id": ..., "account_id": ..., "mac": ...}`, where `mac` is an HMAC-SHA256 of the call id and account id
under the server's client_state key (`ops.secrets.client_state_key`). The webhook signature only proves that
Telnyx sent an event, not who wrote the client_state in it (any dial on the connection, another application's,
a crafted one): without the tag a signed event could name any call in any account.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import orjson

# 128 bits: a forger must guess the tag outright (an HMAC's truncated output is as unpredictable as its whole), and
# each guess costs a Telnyx-signed webhook, so 2**-128 per try is out of reach; the full 32 bytes would only
# lengthen a value echoed in every event of every call
TAG_BYTES = 16


def _tag(call_id: str, account_id: int, key: bytes) -> str:
    # a JSON array names the two values unambiguously ("a", 12 vs "a1", 2); the label keeps the tag apart from
    # any other HMAC an operator might make with the same secret
    message = b"switchboard client_state v1\n" + orjson.dumps([call_id, account_id])
    digest = hmac.new(key, message, hashlib.sha256).digest()[:TAG_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def encode(*, call_id: str, account_id: int, key: bytes) -> str:
    """The value to dial with (~150 characters for a 32-character call id). An account id beyond 64 bits is a
    TypeError (orjson writes no larger integer; our account ids are Postgres integers)."""
    content = {"call_id": call_id, "account_id": account_id, "mac": _tag(call_id, account_id, key)}
    return base64.b64encode(orjson.dumps(content)).decode()


def decode(value: str | None, *, key: bytes) -> tuple[str, int] | None:
    """(call_id, account_id), or None for anything that is not a value `encode` made with this key. Never raises:
    the value arrives from the network and may come from another application sharing the Telnyx connection."""
    if not isinstance(value, str) or not value:
        return None
    try:
        data = orjson.loads(base64.b64decode(value, validate=True))  # a non-ASCII str is a ValueError here
    except (binascii.Error, ValueError):  # orjson.JSONDecodeError is a ValueError
        return None
    if not isinstance(data, dict):
        return None
    call_id, account_id = data.get("call_id"), data.get("account_id")
    # bool is an int subclass: {"account_id": true} must not name tenant 1
    if not isinstance(call_id, str) or not call_id or type(account_id) is not int:
        return None
    try:
        expected = encode(call_id=call_id, account_id=account_id, key=key)
    except TypeError:  # what orjson reads it can write back; kept so that decode never raises whatever it is fed
        return None
    # the whole value against what `encode` makes, not only the tag: re-spaced JSON, reordered or extra keys and
    # base64 with stray padding bits are refused too, so exactly one value stands for each (call, account)
    if not hmac.compare_digest(value.encode("ascii"), expected.encode("ascii")):
        return None
    return call_id, account_id
