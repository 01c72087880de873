"""A child's date of birth or estimated age, as a reporter types it.

The intake record (Decree 56/2017, form Mẫu 01) asks for the date of birth "or estimated age":
reporters often know only "khoảng 7 tuổi" or "sinh năm 2015", so both are first-class here and
`estimated` says which kind we got. Dates are day-first, as Vietnamese write them.

When the input leaves the exact age open (a year, or a month/year in the birthday month), the
child is given the benefit of the doubt: the input is refused only if even the youngest possible
age is 18 or more, and `age_years` is the oldest possible age capped at 17.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from conversations.i18n import N_
from conversations.parsing.errors import ParseError
from conversations.parsing.text import fold

MSG_EMPTY = N_("Chưa có ngày sinh hoặc tuổi. Hãy gõ ví dụ: 12/3/2015, năm 2015 hoặc 7 tuổi")
MSG_NOT_UNDERSTOOD = N_("Chưa hiểu ngày sinh hoặc tuổi. Hãy gõ ví dụ: 12/3/2015, năm 2015, 7 tuổi hoặc 8 tháng")
MSG_INVALID_DATE = N_("Ngày {text} không có thật. Hãy gõ theo thứ tự ngày/tháng/năm, ví dụ: 12/3/2015")
MSG_NEEDS_YEAR = N_("Hãy ghi cả năm sinh, ví dụ: 12/3/2015 hoặc 3/2015")
MSG_FUTURE = N_("Ngày sinh {text} nằm trong tương lai. Hãy kiểm tra lại, ví dụ: 12/3/2015")
MSG_TOO_OLD = N_("Mẫu này chỉ dành cho trẻ dưới 18 tuổi (Luật Trẻ em bảo vệ trẻ dưới 16 tuổi; mẫu nhận đến 17 tuổi). Hãy kiểm tra lại ngày sinh hoặc tuổi, ví dụ: 12/3/2015 hoặc 15 tuổi")
MSG_FUTURE_YEAR = N_("Năm sinh {text} chưa tới. Hãy kiểm tra lại, ví dụ: năm 2015")
MSG_NEGATIVE = N_("Tuổi không thể là số âm. Hãy gõ ví dụ: 7 tuổi hoặc 8 tháng")
MSG_BAD_RANGE = N_("Khoảng tuổi {text} chưa hợp lệ. Hãy ghi tuổi nhỏ trước, cách nhau không quá 5 tuổi, ví dụ: 7-8 tuổi")

ADULT_AGE = 18  # the form takes children up to 17
CHILD_AGE = 16  # Law on Children 2016, Art. 1: a child is under 16
MIN_YEAR = 1900
_MAX_INPUT = 64
_MAX_RANGE = 5
_MAX_HUMAN_AGE = 120  # a bigger bare number is a typo, not an adult

# Folded words that say the reporter is guessing ("khoảng", "tầm", "chừng", "ước", "gần"…).
_ESTIMATE = re.compile(
    r"^(?:~|khoang|tam|chung|uoc chung|uoc tinh|uoc|gan|xap xi|co le|co)(?![a-z])\s*"
)
_DATE_DMY = re.compile(r"(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})")
_DATE_WORDS = re.compile(r"(?:ngay\s*)?(\d{1,2})\s*thang\s*(\d{1,2})\s*(?:nam|,)?\s*(\d{4})")
_DATE_ISO = re.compile(r"(\d{4})\s*([\-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})")
_MONTH_YEAR = re.compile(r"(?:thang\s*)?(\d{1,2})\s*(?:[/.\-]|nam)\s*(\d{4})")
_DAY_MONTH = re.compile(r"\d{1,2}\s*[/.]\s*\d{1,2}")  # "7-8" is an age range
_YEAR = re.compile(r"(?:sinh\s*)?(?:nam\s*)?(\d{4})")
_AGE = re.compile(
    r"(\d{1,3})(?:\s*(?:tuoi|t)(?:\s*(?P<months>\d{1,2})\s*thang(?:\s*tuoi)?|\s*(?P<half>ruoi))?)?"
)
_AGE_RANGE = re.compile(r"(\d{1,2})\s*(?:-|–|—|den|toi|hoac)\s*(\d{1,2})\s*(?:tuoi|t)?")
_MONTHS = re.compile(r"(\d{1,3})\s*thang(?:\s*tuoi)?")
_NEWBORN = re.compile(r"(?:tre\s*)?(?:moi sinh|so sinh)")
_PREFIX = re.compile(r"^(?:ngay sinh|sinh ngay|sinh|ns)\s*[:.]?\s*")


@dataclass(frozen=True, slots=True)
class Birth:
    """What we know about when a child was born, and how old that makes them on a given day."""

    dob: date | None  # exact date of birth when given
    birth_year: int | None  # year of birth (given, from the dob, or approximate from an age)
    age_years: int  # completed years on the day of parsing
    age_months: int | None  # months beyond age_years (0-11), only when the age came in months
    estimated: bool  # no exact date: only an age, a year, a month/year, or a hedged answer

    def to_json(self) -> dict:
        """JSON-safe dict (the date as an ISO string) for storing in a form's answers."""
        return {
            "dob": self.dob.isoformat() if self.dob else None,
            "birth_year": self.birth_year,
            "age_years": self.age_years,
            "age_months": self.age_months,
            "estimated": self.estimated,
        }

    @classmethod
    def from_json(cls, d: dict) -> Birth:
        """Inverse of `to_json`."""
        dob = d.get("dob")
        return cls(
            dob=date.fromisoformat(dob) if dob else None,
            birth_year=d.get("birth_year"),
            age_years=int(d["age_years"]),
            age_months=d.get("age_months"),
            estimated=bool(d.get("estimated", False)),
        )

    @property
    def over_child_age(self) -> bool:
        """16 or 17: not a child under the Law on Children, so a case worker should see a flag."""
        return self.age_years >= CHILD_AGE


def _completed_years(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _capped(youngest: int, oldest: int) -> int:
    """Age to record when it lies in [youngest, oldest]; refuse only a certain adult."""
    if youngest >= ADULT_AGE:
        raise ParseError(MSG_TOO_OLD)
    return min(oldest, ADULT_AGE - 1)


def _full_year(yy: str, day: int, month: int, today: date) -> int:
    """Two-digit years: 20xx unless that date is still to come, then 19xx."""
    if len(yy) == 4:
        return int(yy)
    year = 2000 + int(yy)
    try:
        if date(year, month, day) > today:
            year -= 100
    except ValueError:
        pass  # an impossible date is reported by the caller
    return year


def _from_date(day: int, month: int, year: int, raw: str, today: date, hedged: bool) -> Birth:
    if year < MIN_YEAR:
        raise ParseError(MSG_INVALID_DATE, text=raw)
    try:
        born = date(year, month, day)
    except ValueError:
        raise ParseError(MSG_INVALID_DATE, text=raw) from None
    if born > today:
        raise ParseError(MSG_FUTURE, text=raw)
    age = _completed_years(born, today)
    if age >= ADULT_AGE:
        raise ParseError(MSG_TOO_OLD)
    return Birth(born, year, age, None, hedged)


def _from_month_year(month: int, year: int, raw: str, today: date) -> Birth:
    if not 1 <= month <= 12 or year < MIN_YEAR:
        raise ParseError(MSG_INVALID_DATE, text=raw)
    if (year, month) > (today.year, today.month):
        raise ParseError(MSG_FUTURE, text=raw)
    oldest = today.year - year - (today.month < month)
    youngest = oldest - (today.month == month)
    return Birth(None, year, max(0, _capped(youngest, oldest)), None, True)


def _from_year(year: int, raw: str, today: date) -> Birth:
    if year < MIN_YEAR:
        raise ParseError(MSG_NOT_UNDERSTOOD)
    if year > today.year:
        raise ParseError(MSG_FUTURE_YEAR, text=raw)
    oldest = today.year - year
    return Birth(None, year, max(0, _capped(oldest - 1, oldest)), None, True)


def _from_age(years: int, months: int | None, today: date) -> Birth:
    if months is not None and months >= 12:
        years, months = years + months // 12, months % 12
    if years >= ADULT_AGE:
        raise ParseError(MSG_TOO_OLD)
    if months is None:
        birth_year = today.year - years
    else:
        total = today.year * 12 + today.month - 1 - (years * 12 + months)
        birth_year = total // 12
    return Birth(None, birth_year, years, months, True)


def parse_birth(text: str, today: date) -> Birth:
    """Date of birth or age from free text, judged against `today` (passed in: pure and testable).

    Accepts "12/3/2015", "12-03-15", "2015-03-12", "3/2015", "2015", "sinh năm 2015", "7",
    "7 tuổi", "7t", "khoảng 7 tuổi", "~7", "7-8 tuổi" (the mean, rounded down), "8 tháng",
    "1 tuổi 6 tháng". A bare number is an age up to 17 and a year from 1900 on.
    """
    raw = " ".join(text.split())
    s = fold(text).rstrip(".!?")
    if not s:
        raise ParseError(MSG_EMPTY)
    if len(s) > _MAX_INPUT:
        raise ParseError(MSG_NOT_UNDERSTOOD)
    hedged = False
    m = _ESTIMATE.match(s)
    if m and m.end() < len(s):
        hedged, s = True, s[m.end() :]
    s = _PREFIX.sub("", s) or s
    if s.startswith(("-", "−", "am ")):
        raise ParseError(MSG_NEGATIVE)

    if m := _DATE_DMY.fullmatch(s):
        day, month = int(m[1]), int(m[3])
        return _from_date(day, month, _full_year(m[4], day, month, today), raw, today, hedged)
    if m := _DATE_WORDS.fullmatch(s):
        return _from_date(int(m[1]), int(m[2]), int(m[3]), raw, today, hedged)
    if m := _DATE_ISO.fullmatch(s):
        return _from_date(int(m[4]), int(m[3]), int(m[1]), raw, today, hedged)
    if m := _MONTH_YEAR.fullmatch(s):
        return _from_month_year(int(m[1]), int(m[2]), raw, today)
    if _DAY_MONTH.fullmatch(s):
        raise ParseError(MSG_NEEDS_YEAR)
    if m := _YEAR.fullmatch(s):
        return _from_year(int(m[1]), raw, today)
    if m := _MONTHS.fullmatch(s):
        return _from_age(0, int(m[1]), today)
    if _NEWBORN.fullmatch(s):
        return _from_age(0, 0, today)
    if m := _AGE_RANGE.fullmatch(s):
        low, high = int(m[1]), int(m[2])
        if not 0 <= high - low <= _MAX_RANGE:
            raise ParseError(MSG_BAD_RANGE, text=raw)
        return _from_age((low + high) // 2, None, today)
    if m := _AGE.fullmatch(s):
        years = int(m[1])
        if years > _MAX_HUMAN_AGE:
            raise ParseError(MSG_NOT_UNDERSTOOD)
        months = 6 if m["half"] else int(m["months"]) if m["months"] else None
        return _from_age(years, months, today)
    raise ParseError(MSG_NOT_UNDERSTOOD)
