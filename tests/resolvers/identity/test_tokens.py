"""Access tokens and passwords, as pure functions: every claim checked, nothing accepted it should not be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from resolvers.identity import passwords
from resolvers.identity.config import AuthConfig
from resolvers.identity.tokens import (
    CLAIMS,
    TokenError,
    issue_access_token,
    read_access_token,
    verified_access_token,
)
from resolvers.principal import Role

CONFIG = AuthConfig(secret=b"k" * 40, access_ttl=timedelta(minutes=15))
# at collection: only for claims an hour or more away (a suite may take longer than a token lives)
NOW = datetime.now(UTC)


def token(**overrides: object) -> str:
    issued = issue_access_token(CONFIG, user_id=7, account_id=3, role="agent", session_id="fam", epoch=2,
                                now=datetime.now(UTC))
    if not overrides:
        return issued.token
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, CONFIG.secret, algorithm="HS256")


def test_a_token_names_its_principal() -> None:
    now = datetime.now(UTC)
    p = read_access_token(CONFIG, token())
    assert (p.user_id, p.account_id, p.role, p.session_id, p.epoch) == (7, 3, Role.agent, "fam", 2)
    assert p.expires_at is not None and abs((p.expires_at - now).total_seconds() - 900) < 2


@pytest.mark.parametrize("claim", CLAIMS)
def test_every_claim_is_required(claim: str) -> None:
    with pytest.raises(TokenError):
        read_access_token(CONFIG, token(**{claim: None}))


@pytest.mark.parametrize("change", [
    {"iss": "someone-else"}, {"aud": "another-api"}, {"exp": int((NOW - timedelta(hours=1)).timestamp())},
    {"role": "superuser"}, {"sub": "seven"}, {"acct": "3"}, {"acct": True}, {"sv": "2"},
    {"iat": int((NOW + timedelta(hours=1)).timestamp())},
])
def test_wrong_claims_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(TokenError):
        read_access_token(CONFIG, token(**change))


def test_another_secret_or_algorithm_is_refused() -> None:
    claims = jwt.decode(token(), options={"verify_signature": False})
    with pytest.raises(TokenError):
        read_access_token(CONFIG, jwt.encode(claims, b"x" * 40, algorithm="HS256"))
    with pytest.raises(TokenError):
        read_access_token(CONFIG, jwt.encode(claims, None, algorithm="none"))  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_any_text_is_refused_without_raising_anything_else(text: str) -> None:
    with pytest.raises(TokenError):
        read_access_token(CONFIG, text)


async def test_passwords_verify_and_refuse() -> None:
    stored = await passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify(stored, "correct horse battery")
    assert not await passwords.verify(stored, "correct horse batterz")
    assert not await passwords.verify(None, "anything")  # unknown user: the dummy hash, never a match
    assert not await passwords.verify("not a hash", "anything")


def test_old_parameters_need_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse battery")
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(PasswordHasher().hash("correct horse battery"))


@pytest.mark.parametrize(("password", "ok"), [("short", False), ("a" * 20, False), ("long enough pass", True),
                                              ("x" * 300, False)])
def test_new_password_rules(password: str, ok: bool) -> None:
    assert (passwords.check_new(password) is None) is ok


def test_a_token_is_verified_once_and_a_refusal_every_time() -> None:
    good = issue_access_token(CONFIG, user_id=7, account_id=3, role="agent", session_id="fam", epoch=2,
                              now=datetime.now(UTC)).token
    assert verified_access_token(CONFIG, good) is verified_access_token(CONFIG, good)
    bad = token(aud="someone-else")
    for _ in range(2):
        with pytest.raises(TokenError):
            verified_access_token(CONFIG, bad)
