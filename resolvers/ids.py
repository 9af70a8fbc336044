"""Global ids: `base64("Type:key")`, opaque to clients, checked on the way in."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from resolvers.errors import InputError

TYPES = ("Lead", "Account", "User", "Vehicle", "Route", "Stop", "Call", "ApiKey")
MAX_KEY = 2**63
INT_KEYED = {"Account", "User", "Vehicle", "Route", "Stop", "ApiKey"}


@lru_cache(maxsize=65536)
def encode(type_name: str, key: object) -> str:
    """Remembered: a response encodes an id for every object it returns, mostly the same ones again and again."""
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def decode(value: str, *, field: str = "id") -> tuple[str, str]:
    """Returns (type, key) or raises InputError naming `field`."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InputError(field, f"{value!r} is not a valid global id") from None
    type_name, sep, key = raw.partition(":")
    if not sep or type_name not in TYPES or not key:
        raise InputError(field, f"{value!r} is not a valid global id")
    # ASCII digits only (str.isdigit takes '²' and Arabic-Indic digits), within the stores' 64-bit keys
    if type_name in INT_KEYED and not (key.isascii() and key.isdigit() and int(key) < MAX_KEY):
        raise InputError(field, f"{value!r} is not a valid global id")
    return type_name, key


def decode_as(value: str, expected: str, *, field: str = "id") -> str:
    type_name, key = decode(value, field=field)
    if type_name != expected:
        raise InputError(field, f"expected a {expected} id, got a {type_name} id")
    return key


def decode_int(value: str, expected: str, *, field: str = "id") -> int:
    return int(decode_as(value, expected, field=field))
