"""parse_birth: dates of birth and (estimated) ages as reporters type them."""

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.parsing import age
from conversations.parsing.age import Birth, parse_birth
from conversations.parsing.errors import ParseError

TODAY = date(2026, 3, 15)


def exact(y: int, m: int, d: int, years: int) -> Birth:
    return Birth(dob=date(y, m, d), birth_year=y, age_years=years, age_months=None, estimated=False)


def guess(birth_year: int, years: int, months: int | None = None) -> Birth:
    return Birth(dob=None, birth_year=birth_year, age_years=years, age_months=months, estimated=True)


@pytest.mark.parametrize(
    ("text", "birth"),
    [
        ("12/3/2015", exact(2015, 3, 12, 11)),
        ("12-03-2015", exact(2015, 3, 12, 11)),
        ("12.3.2015", exact(2015, 3, 12, 11)),
        ("12 / 3 / 2015", exact(2015, 3, 12, 11)),
        ("16/3/2015", exact(2015, 3, 16, 10)),  # birthday tomorrow
        ("15/3/2015", exact(2015, 3, 15, 11)),  # birthday today
        ("12/03/15", exact(2015, 3, 12, 11)),
        ("01/01/26", exact(2026, 1, 1, 0)),
        ("2015-03-12", exact(2015, 3, 12, 11)),
        ("ngày 12 tháng 3 năm 2015", exact(2015, 3, 12, 11)),
        ("Ngày sinh: 12/3/2015", exact(2015, 3, 12, 11)),
        ("sinh ngày 29/2/2016", exact(2016, 2, 29, 10)),
        ("16/3/2008", exact(2008, 3, 16, 17)),
        ("15/3/2026", exact(2026, 3, 15, 0)),
        ("3/2015", guess(2015, 11)),
        ("4/2015", guess(2015, 10)),
        ("tháng 3 năm 2015", guess(2015, 11)),
        ("3/2008", guess(2008, 17)),  # 17 or 18 today: the benefit of the doubt
        ("2015", guess(2015, 11)),
        ("năm 2015", guess(2015, 11)),
        ("sinh năm 2015", guess(2015, 11)),
        ("sinh nam 2015", guess(2015, 11)),
        ("2008", guess(2008, 17)),
        ("2026", guess(2026, 0)),
        ("7", guess(2019, 7)),
        ("0", guess(2026, 0)),
        ("17", guess(2009, 17)),
        ("7 tuổi", guess(2019, 7)),
        ("7 tuoi", guess(2019, 7)),
        ("7t", guess(2019, 7)),
        ("7 T", guess(2019, 7)),
        ("khoảng 7 tuổi", guess(2019, 7)),
        ("Khoang 7 tuoi", guess(2019, 7)),
        ("tầm 7", guess(2019, 7)),
        ("chừng 7 tuổi", guess(2019, 7)),
        ("~7", guess(2019, 7)),
        ("7-8 tuổi", guess(2019, 7)),
        ("7 - 9", guess(2018, 8)),
        ("7 đến 8 tuổi", guess(2019, 7)),
        ("16-18", guess(2009, 17)),
        ("8 tháng", guess(2025, 0, 8)),
        ("8 thang tuoi", guess(2025, 0, 8)),
        ("2 tháng", guess(2026, 0, 2)),
        ("18 tháng", guess(2024, 1, 6)),
        ("1 tuổi 6 tháng", guess(2024, 1, 6)),
        ("7 tuổi rưỡi", guess(2018, 7, 6)),
        ("sơ sinh", guess(2026, 0, 0)),
        ("7 tuổi.", guess(2019, 7)),
    ],
)
def test_accepts(text: str, birth: Birth) -> None:
    assert parse_birth(text, TODAY) == birth


def test_hedged_date_is_estimated() -> None:
    birth = parse_birth("khoảng 12/3/2015", TODAY)
    assert birth.dob == date(2015, 3, 12) and birth.estimated


def test_two_digit_year_in_future_means_last_century() -> None:
    with pytest.raises(ParseError) as err:
        parse_birth("12/03/30", TODAY)  # 2030 is to come, so 1930: far too old
    assert err.value.message == age.MSG_TOO_OLD


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", age.MSG_EMPTY),
        ("  ", age.MSG_EMPTY),
        ("31/2/2015", age.MSG_INVALID_DATE),
        ("29/2/2015", age.MSG_INVALID_DATE),
        ("12/13/2015", age.MSG_INVALID_DATE),
        ("0/3/2015", age.MSG_INVALID_DATE),
        ("13/2015", age.MSG_INVALID_DATE),
        ("12/3/1850", age.MSG_INVALID_DATE),
        ("16/3/2026", age.MSG_FUTURE),
        ("1/1/2027", age.MSG_FUTURE),
        ("4/2026", age.MSG_FUTURE),
        ("2027", age.MSG_FUTURE_YEAR),
        ("15/3/2008", age.MSG_TOO_OLD),
        ("2007", age.MSG_TOO_OLD),
        ("18", age.MSG_TOO_OLD),
        ("18 tuổi", age.MSG_TOO_OLD),
        ("25", age.MSG_TOO_OLD),
        ("khoảng 40 tuổi", age.MSG_TOO_OLD),
        ("17-19", age.MSG_TOO_OLD),
        ("216 tháng", age.MSG_TOO_OLD),
        ("150", age.MSG_NOT_UNDERSTOOD),
        ("1899", age.MSG_NOT_UNDERSTOOD),
        ("-7", age.MSG_NEGATIVE),
        ("âm 3 tuổi", age.MSG_NEGATIVE),
        ("12/3", age.MSG_NEEDS_YEAR),
        ("12-3", age.MSG_BAD_RANGE),
        ("3-12", age.MSG_BAD_RANGE),
        ("bảy tuổi", age.MSG_NOT_UNDERSTOOD),
        ("không rõ", age.MSG_NOT_UNDERSTOOD),
        ("khoảng", age.MSG_NOT_UNDERSTOOD),
        ("12/3/201", age.MSG_NOT_UNDERSTOOD),
        ("'; DROP TABLE cases;--", age.MSG_NOT_UNDERSTOOD),
        ("7" * 100, age.MSG_NOT_UNDERSTOOD),
    ],
)
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_birth(text, TODAY)
    assert err.value.message == message


def test_error_echoes_input() -> None:
    with pytest.raises(ParseError) as err:
        parse_birth("31/2/2015", TODAY)
    assert err.value.message.format(**err.value.params).startswith("Ngày 31/2/2015 không có thật")


@pytest.mark.parametrize(("years", "flag"), [(0, False), (15, False), (16, True), (17, True)])
def test_over_child_age(years: int, flag: bool) -> None:
    assert parse_birth(f"{years} tuổi", TODAY).over_child_age is flag


@pytest.mark.parametrize("text", ["12/3/2015", "3/2015", "2015", "khoảng 7 tuổi", "18 tháng", "sơ sinh"])
def test_json_round_trip(text: str) -> None:
    birth = parse_birth(text, TODAY)
    data = birth.to_json()
    assert all(isinstance(v, str | int | bool | type(None)) for v in data.values())
    assert Birth.from_json(data) == birth


def test_decomposed_input() -> None:
    text = unicodedata.normalize("NFD", "khoảng 7 tuổi")
    assert parse_birth(text, TODAY) == guess(2019, 7)


@given(st.dates(min_value=date(2008, 3, 16), max_value=TODAY))
def test_any_child_date_round_trips(born: date) -> None:
    birth = parse_birth(f"{born.day}/{born.month}/{born.year}", TODAY)
    assert birth.dob == born and 0 <= birth.age_years <= 17 and not birth.estimated
    assert parse_birth(born.isoformat(), TODAY) == birth


@given(st.integers(min_value=0, max_value=17))
def test_any_child_age(years: int) -> None:
    assert parse_birth(f"{years} tuổi", TODAY).age_years == years


_NASTY = st.one_of(
    st.text(),
    st.text(alphabet="0123456789/.- ~tuổiháng năm sinhkoả", max_size=40),
    st.sampled_from(["'; DROP TABLE cases;--", "👶🏽 7 tuổi", "٧", "x" * 10_000, "9" * 10_000, "99/99/9999"]),
)


@given(_NASTY, st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_only_parse_error_escapes(text: str, today: date) -> None:
    try:
        birth = parse_birth(text, today)
    except ParseError:
        return
    assert 0 <= birth.age_years <= 17
    assert birth.dob is None or birth.dob <= today
    assert birth.age_months is None or 0 <= birth.age_months <= 11
