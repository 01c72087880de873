"""parse_vn_phone / format_vn_phone: one E.164 key per person, however they type it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.parsing import phone
from conversations.parsing.errors import ParseError
from conversations.parsing.phone import format_vn_phone, parse_vn_phone


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("0912 345 678", "+84912345678"),
        ("0912345678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("0912-345-678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0084 912 345 678", "+84912345678"),
        ("+84 (0) 912 345 678", "+84912345678"),
        (" 0362 123 456 ", "+84362123456"),
        ("0987\u00a0654\u00a0321", "+84987654321"),
        ("(024) 3825 1234", "+842438251234"),
        ("028 3822 1234", "+842838221234"),
        ("０９１２３４５６７８", "+84912345678"),
    ],
)
def test_accepts(text: str, e164: str) -> None:
    assert parse_vn_phone(text) == e164


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", phone.MSG_INVALID),
        ("không có", phone.MSG_INVALID),
        ("091234567", phone.MSG_INVALID),  # one digit short
        ("09123456789", phone.MSG_INVALID),  # one digit too many
        ("01234567890", phone.MSG_INVALID),  # the 11-digit prefixes retired in 2018
        ("111", phone.MSG_INVALID),  # the hotline is not a person's number
        ("0281234567", phone.MSG_INVALID),
        ("0912 345 678 gọi sau 5h", phone.MSG_INVALID),
        ("'; DROP TABLE cases;--", phone.MSG_INVALID),
        ("0" * 10_000, phone.MSG_INVALID),
        ("+1 212 555 0100", phone.MSG_FOREIGN),
        ("+44 20 7946 0958", phone.MSG_FOREIGN),
    ],
)
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_vn_phone(text)
    assert err.value.message == message


@pytest.mark.parametrize(
    ("e164", "shown"),
    [("+84912345678", "0912 345 678"), ("+842438251234", "024 3825 1234"), ("+84362123456", "0362 123 456")],
)
def test_format(e164: str, shown: str) -> None:
    assert format_vn_phone(e164) == shown
    assert parse_vn_phone(shown) == e164


def test_format_rejects_garbage() -> None:
    with pytest.raises(ParseError):
        format_vn_phone("not a number")


@given(st.sampled_from(["91", "98", "86", "32", "70", "77", "81", "56", "59"]), st.integers(0, 9_999_999))
def test_mobile_round_trip(prefix: str, rest: int) -> None:
    national = f"0{prefix}{rest:07d}"
    e164 = parse_vn_phone(national)
    assert e164 == "+84" + national[1:]
    assert parse_vn_phone(format_vn_phone(e164)) == e164


@given(st.one_of(st.text(), st.text(alphabet="+0123456789 ().-", max_size=30)))
def test_only_parse_error_escapes(text: str) -> None:
    try:
        e164 = parse_vn_phone(text)
    except ParseError:
        return
    assert e164.startswith("+84") and e164[1:].isdigit()
