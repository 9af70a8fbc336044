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


@pytest.mark.parametrize("bad", ["America", "posixrules", "zone.tab", "/etc/passwd", "UTC ", "\x00", "a" * 500])
def test_only_tz_database_names_are_time_zones(bad: str) -> None:
    with pytest.raises(ValueError, match="IANA") as caught:
        validate.timezone(bad)
    assert len(str(caught.value)) < 120, "a long value is not quoted back whole"


def test_nothing_is_cut_short_silently() -> None:
    assert checked({"last_name": "  Lovelace "}) == {"last_name": "Lovelace"}
    assert checked({"last_name": ""}) == {"last_name": ""}
    too_long = checked({"last_name": "x" * 101})
    assert isinstance(too_long, Failure) and too_long.field == "input.lastName"
    long_tag = checked({"tags": ["y" * 51]})
    assert isinstance(long_tag, Failure) and long_tag.field == "input.tags"


def test_notes_on_create_are_checked_like_added_notes() -> None:
    assert checked({"notes": [" Called back "]}) == {"notes": ["Called back"]}
    for bad in (["  "], ["z" * 5001], ["n"] * 51):
        failure = checked({"notes": bad})
        assert isinstance(failure, Failure) and failure.field == "input.notes", bad


def test_company_and_qualification_details_name_their_own_field() -> None:
    assert checked({"company": {"name": " Acme ", "title": "  ", "size": None}}) == {
        "company": {"name": "Acme", "title": None, "size": None}
    }
    failure = checked({"company": {"name": "Acme", "website": "w" * 301}})
    assert isinstance(failure, Failure) and failure.field == "input.company.website"
    assert "at most 300" in failure.message
    failure = checked({"qualification": {"need": "n" * 301}})
    assert isinstance(failure, Failure) and failure.field == "input.qualification.need"
