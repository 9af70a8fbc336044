"""Passwords: argon2id (argon2-cffi's defaults, RFC 9106's second recommended profile), checked off the loop."""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Unknown emails are verified against this, so they take as long as a wrong password."""
    return _hasher.hash("switchboard: no such user")


def check_new(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if len(set(password)) < 4:
        return "must not repeat the same few characters"
    return None


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password[:MAX_LENGTH]) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored`; None (no such user) is checked against a dummy hash."""
    return await asyncio.to_thread(_verify, stored, password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
