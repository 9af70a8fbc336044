"""Ed25519 webhook signatures over real-shaped Telnyx bodies."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from voice.envelope import HANDLED
from voice.signature import (
    PublicKeyError,
    SignatureError,
    generate_key_pair,
    load_private_key,
    public_key_of,
    sign,
    verify,
)

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "telnyx" / "events"
BODIES = sorted(EVENTS.glob("*.json"))
NOW = 1_772_463_845  # 2026-03-02T15:04:05Z
STAMP = str(NOW)


@pytest.fixture(scope="module")
def keys() -> tuple[Ed25519PrivateKey, str]:
    private, public = generate_key_pair()
    return load_private_key(private), public


def check(keys: tuple[Ed25519PrivateKey, str], body: bytes, **overrides: object) -> None:
    private, public = keys
    arguments: dict[str, object] = {
        "public_key": public,
        "signature": sign(private_key=private, timestamp=STAMP, body=body),
        "timestamp": STAMP,
        "body": body,
        "now": float(NOW),
    }
    verify(**(arguments | overrides))  # type: ignore[arg-type]


def reason(keys: tuple[Ed25519PrivateKey, str], body: bytes, **overrides: object) -> str:
    with pytest.raises(SignatureError) as caught:
        check(keys, body, **overrides)
    return caught.value.reason


def test_fixtures_are_there() -> None:
    assert len(BODIES) == len(HANDLED)


@pytest.mark.parametrize("path", BODIES, ids=lambda path: path.stem)
def test_a_genuine_webhook_passes(keys: tuple[Ed25519PrivateKey, str], path: Path) -> None:
    check(keys, path.read_bytes())


@pytest.mark.parametrize("path", BODIES, ids=lambda path: path.stem)
def test_any_one_byte_change_fails(keys: tuple[Ed25519PrivateKey, str], path: Path) -> None:
    private, _ = keys
    body = path.read_bytes()
    signature = sign(private_key=private, timestamp=STAMP, body=body)
    for index in (0, len(body) // 2, len(body) - 1):
        changed = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        assert reason(keys, changed, signature=signature) == "signature does not match"


def test_the_body_is_checked_as_sent_not_as_reserialised(keys: tuple[Ed25519PrivateKey, str]) -> None:
    private, _ = keys
    body = (EVENTS / "call.hangup.json").read_bytes()
    signature = sign(private_key=private, timestamp=STAMP, body=body)
    compact = body.replace(b"\n", b"").replace(b"  ", b"")
    assert reason(keys, compact, signature=signature) == "signature does not match"


def test_the_timestamp_is_part_of_the_signed_message(keys: tuple[Ed25519PrivateKey, str]) -> None:
    body = (EVENTS / "call.answered.json").read_bytes()
    assert reason(keys, body, timestamp=str(NOW - 1)) == "signature does not match"


@pytest.mark.parametrize("delta", [-300, 300, -120, 0])
def test_timestamps_within_tolerance_pass_boundary_included(keys: tuple[Ed25519PrivateKey, str], delta: int) -> None:
    body = (EVENTS / "call.initiated.json").read_bytes()
    check(keys, body, now=float(NOW + delta))


@pytest.mark.parametrize(("delta", "away"), [(301, 301), (-301, 301), (612, 612), (-86_400, 86_400), (300.5, 301)])
def test_stale_and_future_timestamps_fail(keys: tuple[Ed25519PrivateKey, str], delta: float, away: int) -> None:
    body = (EVENTS / "call.initiated.json").read_bytes()
    assert reason(keys, body, now=NOW + delta) == f"timestamp {away} s away from now (limit 300 s)"


def test_tolerance_is_a_parameter(keys: tuple[Ed25519PrivateKey, str]) -> None:
    body = (EVENTS / "call.initiated.json").read_bytes()
    check(keys, body, now=float(NOW + 30), tolerance=30)
    assert reason(keys, body, now=float(NOW + 31), tolerance=30) == "timestamp 31 s away from now (limit 30 s)"


def test_another_key_fails(keys: tuple[Ed25519PrivateKey, str]) -> None:
    _, other_public = generate_key_pair()
    body = (EVENTS / "call.bridged.json").read_bytes()
    assert reason(keys, body, public_key=other_public) == "signature does not match"


@pytest.mark.parametrize("missing", [None, ""])
def test_missing_headers_fail(keys: tuple[Ed25519PrivateKey, str], missing: str | None) -> None:
    body = (EVENTS / "call.bridged.json").read_bytes()
    assert reason(keys, body, signature=missing) == "missing telnyx-signature-ed25519 header"
    assert reason(keys, body, timestamp=missing) == "missing telnyx-timestamp header"


@pytest.mark.parametrize("stamp", ["soon", "1772463845.0", " 1772463845", "+1772463845", "1_772_463_845", "１２"])
def test_a_timestamp_that_is_not_plain_digits_fails(keys: tuple[Ed25519PrivateKey, str], stamp: str) -> None:
    body = (EVENTS / "call.bridged.json").read_bytes()
    assert reason(keys, body, timestamp=stamp) == "timestamp is not a number"


@pytest.mark.parametrize("signature", ["not base64!", "abc", "ë" * 88])
def test_a_signature_that_is_not_base64_fails(keys: tuple[Ed25519PrivateKey, str], signature: str) -> None:
    body = (EVENTS / "call.bridged.json").read_bytes()
    assert reason(keys, body, signature=signature) == "signature is not base64"


def test_a_signature_of_the_wrong_length_fails(keys: tuple[Ed25519PrivateKey, str]) -> None:
    body = (EVENTS / "call.bridged.json").read_bytes()
    short = base64.b64encode(b"\x00" * 32).decode()
    assert reason(keys, body, signature=short) == "signature is 32 bytes, an Ed25519 signature is 64"


@pytest.mark.parametrize("public_key", ["", "%%%", base64.b64encode(b"\x01" * 31).decode()])
def test_a_malformed_public_key_is_a_configuration_error(keys: tuple[Ed25519PrivateKey, str], public_key: str) -> None:
    body = (EVENTS / "call.bridged.json").read_bytes()
    with pytest.raises(PublicKeyError, match="TELNYX_PUBLIC_KEY") as caught:
        check(keys, body, public_key=public_key, signature=None)  # the key is checked before the request
    assert not isinstance(caught.value, SignatureError | KeyError)


def test_key_pair_round_trips() -> None:
    private, public = generate_key_pair()
    assert len(base64.b64decode(private)) == 32 and len(base64.b64decode(public)) == 32
    assert public_key_of(load_private_key(private)) == public


def test_a_pem_private_key_loads() -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()
    assert public_key_of(load_private_key(pem)) == public_key_of(key)


@pytest.mark.parametrize("text", ["", "not a key", base64.b64encode(b"\x01" * 16).decode(), "-----BEGIN junk"])
def test_a_bad_private_key_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="private key"):
        load_private_key(text)


def test_a_signature_is_base64_of_64_bytes(keys: tuple[Ed25519PrivateKey, str]) -> None:
    private, _ = keys
    assert len(base64.b64decode(sign(private_key=private, timestamp=STAMP, body=b"{}"), validate=True)) == 64
