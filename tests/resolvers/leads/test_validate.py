import pytest

from resolvers.leads import validate
from resolvers.leads.fields import camel, checked
from resolvers.results import Failure, FailureKind


def test_phone_is_normalised_to_e164() -> None:
    assert validate.phone("+1 (415) 555-0123") == "+14155550123"
    assert validate.phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("bad", ["12345", "+1", "hello", "+1 415 555 01234567"])
def test_bad_phones_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        validate.phone(bad)


def test_email_timezone_tags_score() -> None:
    assert validate.email("Ada@Example.COM") == "Ada@example.com"
    with pytest.raises(ValueError):
        validate.email("no-at-sign")
    assert validate.timezone("Europe/Paris") == "Europe/Paris"
    with pytest.raises(ValueError, match="IANA"):
        validate.timezone("Mars/Base")
    assert validate.tags([" EV", "ev", "", "Fleet"]) == ["ev", "fleet"]
    with pytest.raises(ValueError):
        validate.tags([f"t{i}" for i in range(21)])
    with pytest.raises(ValueError):
        validate.score(101)


def test_checked_names_the_first_bad_field_in_graphql_terms() -> None:
    result = checked({"first_name": "Ada", "phone": "nope"})
    assert isinstance(result, Failure)
    assert (result.kind, result.field) == (FailureKind.validation, "input.phone")
    assert checked({"first_name": " Ada ", "phone": "+14155550123", "email": None}) == {
        "first_name": "Ada", "phone": "+14155550123", "email": None
    }
    assert camel("do_not_call") == "doNotCall"
