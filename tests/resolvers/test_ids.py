import pytest

from resolvers.errors import InputError
from resolvers.ids import decode, decode_as, decode_int, encode


@pytest.mark.parametrize(("type_name", "key"), [("Lead", "0123456789abcdef01234567"), ("Route", 7), ("Stop", 12)])
def test_round_trip(type_name: str, key: object) -> None:
    assert decode(encode(type_name, key)) == (type_name, str(key))


@pytest.mark.parametrize("value", [
    "", "!!!", encode("Planet", 1), encode("Route", "x"), "TGVhZDo", encode("Lead", ""),
    # non-ASCII digits and keys past the stores' 64-bit integers
    encode("Route", "²"), encode("User", "١٢"), encode("Stop", 2**63), encode("ApiKey", 10**30),
])
def test_malformed_ids_name_the_field(value: str) -> None:
    with pytest.raises(InputError) as raised:
        decode(value, field="input.leadId")
    assert raised.value.field == "input.leadId"
    assert raised.value.message.startswith("input.leadId: ")


def test_wrong_type_is_refused() -> None:
    with pytest.raises(InputError, match="expected a Lead id, got a Route id"):
        decode_as(encode("Route", 1), "Lead")
    assert decode_int(encode("Route", 42), "Route") == 42
