"""Telnyx webhook signatures: Ed25519 over `f"{telnyx-timestamp}|".encode() + raw body`.

Telnyx signs the bytes it sent, so the check runs on the raw request body, never on re-serialised JSON. Keys
travel as the base64 of their 32 raw bytes, the form the Telnyx portal shows for TELNYX_PUBLIC_KEY; that form
fits on one line of a `.env` file, so `generate_key_pair` uses it for the private key as well.
"""

from __future__ import annotations

import base64
import binascii
import math
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
TOLERANCE = 300  # seconds either side of now, as Telnyx's own SDKs allow


class SignatureError(ValueError):
    """The request is not a genuine, fresh Telnyx webhook (answer 401). `reason` is for logs and the response."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PublicKeyError(ValueError):
    """TELNYX_PUBLIC_KEY itself is unusable: a configuration error, not a bad request."""


def _b64(text: str) -> bytes:
    # validate=True: the lenient default silently drops stray characters, which would hide a corrupted value
    return base64.b64decode(text.strip(), validate=True)


@lru_cache(maxsize=8)
def load_public_key(text: str) -> Ed25519PublicKey:
    """Raises PublicKeyError; call it at start-up to refuse a bad TELNYX_PUBLIC_KEY before any webhook arrives."""
    try:
        raw = _b64(text)
    except (binascii.Error, ValueError):
        raise PublicKeyError("TELNYX_PUBLIC_KEY is not base64") from None
    if len(raw) != 32:
        raise PublicKeyError(f"TELNYX_PUBLIC_KEY must be the base64 of 32 raw Ed25519 bytes, it decodes to {len(raw)}")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as error:
        raise PublicKeyError(f"TELNYX_PUBLIC_KEY is not an Ed25519 public key: {error}") from None


def _message(timestamp: str, body: bytes) -> bytes:
    return f"{timestamp}|".encode() + body


def verify(
    *,
    public_key: str,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
    tolerance: int = TOLERANCE,
) -> None:
    """Returns quietly for a genuine webhook signed within `tolerance` seconds of `now` (the boundary passes).

    Raises PublicKeyError for a malformed key (checked first: a misconfigured server must not look like a
    stream of bad requests) and SignatureError for everything about the request.
    """
    key = load_public_key(public_key)
    if not signature:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    if not timestamp:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    # int() would also take " 17", "+17" and "1_7"; the signed text is the header itself, so demand plain digits
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise SignatureError("timestamp is not a number")
    skew = abs(now - int(timestamp))
    if skew > tolerance:
        raise SignatureError(f"timestamp {math.ceil(skew)} s away from now (limit {tolerance} s)")
    try:
        raw_signature = _b64(signature)
    except (binascii.Error, ValueError):
        raise SignatureError("signature is not base64") from None
    if len(raw_signature) != 64:
        raise SignatureError(f"signature is {len(raw_signature)} bytes, an Ed25519 signature is 64")
    try:
        key.verify(raw_signature, _message(timestamp, body))
    except InvalidSignature:
        raise SignatureError("signature does not match") from None


def sign(*, private_key: Ed25519PrivateKey, timestamp: str, body: bytes) -> str:
    """The `telnyx-signature-ed25519` header Telnyx would send: for the simulated carrier and tests."""
    return base64.b64encode(private_key.sign(_message(timestamp, body))).decode()


def generate_key_pair() -> tuple[str, str]:
    """(private key, public key), both base64 of their 32 raw bytes; the public one is a TELNYX_PUBLIC_KEY."""
    private_key = Ed25519PrivateKey.generate()
    raw = private_key.private_bytes(
        encoding=serialization.Encoding.Raw,
        format=serialization.PrivateFormat.Raw,
        encryption_algorithm=serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode(), public_key_of(private_key)


def load_private_key(text: str) -> Ed25519PrivateKey:
    """Accepts the base64 of 32 raw bytes (as `generate_key_pair` writes) or an unencrypted PKCS#8 PEM."""
    if text.lstrip().startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as error:
            raise ValueError(f"private key PEM cannot be loaded: {error}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"private key PEM holds a {type(key).__name__}, not an Ed25519 key")
        return key
    try:
        raw = _b64(text)
    except (binascii.Error, ValueError):
        raise ValueError("private key is neither a PEM nor base64") from None
    if len(raw) != 32:
        raise ValueError(f"private key must be the base64 of 32 raw Ed25519 bytes, it decodes to {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_of(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()
