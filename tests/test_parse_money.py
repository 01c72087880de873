"""parse_money on amounts as Vietnamese people type them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.parsing import money
from conversations.parsing.errors import ParseError
from conversations.parsing.money import parse_money


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("500k", 500_000),
        ("500K", 500_000),
        ("500 k", 500_000),
        ("500 nghìn", 500_000),
        ("500 ngàn", 500_000),
        ("500 ngan", 500_000),
        ("1tr5", 1_500_000),
        ("1TR5", 1_500_000),
        ("1tr25", 1_250_000),
        ("1tr05", 1_050_000),
        ("1tr", 1_000_000),
        ("1 triệu", 1_000_000),
        ("1,5 triệu", 1_500_000),
        ("1.5 triệu", 1_500_000),
        ("1,5tr", 1_500_000),
        ("0,5 triệu", 500_000),
        ("2 trieu", 2_000_000),
        ("2 củ", 2_000_000),
        ("1 triệu rưỡi", 1_500_000),
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        ("1500000", 1_500_000),
        ("1 500 000", 1_500_000),
        ("1\u00a0500\u00a0000", 1_500_000),
        ("1.500.000đ", 1_500_000),
        ("1.500.000 đồng", 1_500_000),
        ("1.500.000 VND", 1_500_000),
        ("1.500.000 vnđ", 1_500_000),
        ("1.500.000\u00a0₫", 1_500_000),
        ("VND 500.000", 500_000),
        ("1 tỷ", 1_000_000_000),
        ("1 tỉ", 1_000_000_000),
        ("1ty2", 1_200_000_000),
        ("1 tỷ 200 triệu", 1_200_000_000),
        ("1tr250k", 1_250_000),
        ("1 triệu 250 nghìn", 1_250_000),
        ("2k5", 2_500),
        ("1.500k", 1_500_000),
        ("300.000 d", 300_000),
        ("1500", 1_500),
        ("1.000", 1_000),
        ("1.500.000,50", 1_500_001),
        ("1,500,000.00", 1_500_000),
        ("200k.", 200_000),
        ("  50K  ", 50_000),
        ("10.000.000.000", 10_000_000_000),
    ],
)
def test_accepts(text: str, amount: int) -> None:
    assert parse_money(text) == amount


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", money.MSG_EMPTY),
        ("   ", money.MSG_EMPTY),
        ("năm trăm nghìn", money.MSG_NOT_UNDERSTOOD),
        ("k", money.MSG_NOT_UNDERSTOOD),
        ("abc", money.MSG_NOT_UNDERSTOOD),
        ("100$", money.MSG_NOT_UNDERSTOOD),
        ("500k ạ", money.MSG_NOT_UNDERSTOOD),
        ("1 triệu 1500 nghìn", money.MSG_NOT_UNDERSTOOD),
        ("500k 2 triệu", money.MSG_NOT_UNDERSTOOD),
        ("1tr5000", money.MSG_NOT_UNDERSTOOD),
        ("1.5", money.MSG_NEEDS_UNIT),
        ("1,5", money.MSG_NEEDS_UNIT),
        ("2,50", money.MSG_NEEDS_UNIT),
        ("1.5.00", money.MSG_BAD_GROUPING),
        ("1.50.000", money.MSG_BAD_GROUPING),
        ("15 00", money.MSG_BAD_GROUPING),
        ("-500k", money.MSG_NEGATIVE),
        ("−500000", money.MSG_NEGATIVE),
        ("âm 500k", money.MSG_NEGATIVE),
        ("0", money.MSG_ZERO),
        ("0k", money.MSG_ZERO),
        ("0,0001k", money.MSG_ZERO),
        ("500", money.MSG_TOO_SMALL),
        ("999 đồng", money.MSG_TOO_SMALL),
        ("11 tỷ", money.MSG_TOO_LARGE),
        ("1" + "0" * 60, money.MSG_TOO_LARGE),
        ("9" * 63 + "k", money.MSG_TOO_LARGE),
        ("1" * 100, money.MSG_NOT_UNDERSTOOD),
        ("'; DROP TABLE cases;--", money.MSG_NOT_UNDERSTOOD),
    ],
)
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_money(text)
    assert err.value.message == message


def test_error_params() -> None:
    with pytest.raises(ParseError) as err:
        parse_money("500")
    assert err.value.params == {"amount": 500}
    assert "500k" in err.value.message.format(**err.value.params)
    with pytest.raises(ParseError) as err:
        parse_money("2 triệu", maximum=1_000_000)
    assert err.value.params == {"maximum": "1.000.000"}
    with pytest.raises(ParseError) as err:
        parse_money("1.5")
    assert "1.5 triệu" in err.value.message.format(**err.value.params)


def test_custom_maximum() -> None:
    assert parse_money("1 triệu", maximum=1_000_000) == 1_000_000


def test_messages_are_vietnamese_with_example() -> None:
    for name in dir(money):
        if name.startswith("MSG_"):
            message = getattr(money, name)
            assert "ví dụ" in message or "hãy gõ" in message, name


@given(st.integers(min_value=1_000, max_value=10_000_000_000))
def test_round_trip_dot_grouping(n: int) -> None:
    assert parse_money(f"{n:,}".replace(",", ".")) == n
    assert parse_money(f"{n:,}") == n
    assert parse_money(str(n)) == n
    assert parse_money(f"{n:,}".replace(",", ".") + " đ") == n


@given(st.integers(min_value=1, max_value=9_999_999))
def test_round_trip_thousands(n: int) -> None:
    assert parse_money(f"{n}k") == n * 1000


_NASTY = st.one_of(
    st.text(),
    st.text(alphabet="0123456789.,  ktrđiệuỷnghìVND-−~₫", max_size=40),
    st.sampled_from(["'; DROP TABLE cases;--", "💸💸💸", "1\u0300\u0301k", "٣٠٠k", "x" * 10_000, "9" * 10_000]),
)


@given(_NASTY)
def test_only_parse_error_escapes(text: str) -> None:
    try:
        amount = parse_money(text)
    except ParseError:
        return
    assert 1_000 <= amount <= 10_000_000_000
