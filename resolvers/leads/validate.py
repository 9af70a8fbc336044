"""Pure checks of lead input: each returns the normalised value or raises ValueError with the reason."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_NAME = 100
MAX_NOTE = 5000
MAX_NOTES = 50  # given at once, on create
MAX_TEXT = 300  # company and qualification details
MAX_TAGS = 20
MAX_TAG = 50
MAX_SHOWN = 40  # of a rejected value, quoted back in the error


def _shown(value: str) -> str:
    return repr(value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "...")


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("must be an international number such as +14155550123") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{_shown(value)} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def name(value: str) -> str:
    value = optional_name(value)
    if not value:
        raise ValueError("must not be empty")
    return value


def optional_name(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_NAME:
        raise ValueError(f"must be at most {MAX_NAME} characters")
    return value


def timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"{_shown(value)} is not an IANA time zone name such as 'Europe/Berlin'")
    return value


def note(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_NOTE:
        raise ValueError(f"must be at most {MAX_NOTE} characters")
    return value


def notes(values: list[str]) -> list[str]:
    if len(values) > MAX_NOTES:
        raise ValueError(f"at most {MAX_NOTES} notes at once")
    return [note(value) for value in values]


def detail(value: str) -> str | None:
    """A company or qualification detail: a short text, trimmed; a blank one counts as not given."""
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return value or None


def tags(values: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip().lower() for t in values if t.strip()))
    if len(cleaned) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    if any(len(t) > MAX_TAG for t in cleaned):
        raise ValueError(f"each tag must be at most {MAX_TAG} characters")
    return cleaned


def score(value: int) -> int:
    if not 0 <= value <= 100:
        raise ValueError("must be between 0 and 100")
    return value
