"""Amounts of Vietnamese dong as people type them in chat.

Vietnamese write "500k", "1tr5", "1,5 triệu", "1.500.000đ": the dot groups thousands and the
comma is the decimal mark, but English-style "1,500,000" is common too. VND has no minor unit,
so the result is a whole number of dong.

Separator rule (one rule everywhere, so people can predict it):
- a separator followed by exactly three digits groups thousands: "1.500" and "1,500" are 1500;
- any other single separator ("1,5", "1.25") is a decimal mark, allowed only before a unit
  ("1,5 triệu"), because "1.5" alone could mean 1.5 thousand or 1.5 million;
- with both marks ("1.500.000,50", "1,500,000.50") the last one is the decimal mark.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from conversations.i18n import N_
from conversations.parsing.errors import ParseError
from conversations.parsing.text import fold

MSG_EMPTY = N_("Chưa có số tiền. Hãy gõ ví dụ: 500k, 1,5 triệu hoặc 1.500.000")
MSG_NOT_UNDERSTOOD = N_("Chưa hiểu số tiền. Hãy gõ ví dụ: 500k, 1,5 triệu hoặc 1.500.000")
MSG_BAD_GROUPING = N_("Chưa hiểu cách ghi số {number}. Hãy dùng dấu chấm để tách hàng nghìn, ví dụ: 1.500.000")
MSG_NEEDS_UNIT = N_("Chưa rõ {number} là bao nhiêu. Hãy ghi kèm đơn vị, ví dụ: {number}k hoặc {number} triệu")
MSG_NEGATIVE = N_("Số tiền không thể là số âm. Hãy gõ số dương, ví dụ: 500k")
MSG_ZERO = N_("Số tiền phải lớn hơn 0. Hãy gõ ví dụ: 500k hoặc 1 triệu")
MSG_TOO_SMALL = N_("Số tiền {amount} đồng quá nhỏ (tối thiểu 1.000 đồng). Nếu ý bạn là {amount} nghìn, hãy gõ {amount}k")
MSG_TOO_LARGE = N_("Số tiền vượt quá mức tối đa {maximum} đồng. Hãy kiểm tra lại số chữ số, ví dụ: 1.500.000")

MINIMUM = 1_000
_MAX_INPUT = 64  # longer than any real amount; also keeps int() far from its digit limit

# Unit words after folding (no diacritics): "nghìn"/"ngàn", "triệu", slang "củ", "tỷ"/"tỉ".
_UNITS: dict[str, int] = {
    "k": 1_000,
    "nghin": 1_000,
    "ngan": 1_000,
    "tr": 1_000_000,
    "trieu": 1_000_000,
    "cu": 1_000_000,
    "ty": 1_000_000_000,
    "ti": 1_000_000_000,
}
_HALF = "ruoi"  # "rưỡi": "1 triệu rưỡi" is 1.5 million

_CURRENCY_END = re.compile(r"\s*(?:vnd|dong|d|₫)\s*$")
_CURRENCY_START = re.compile(r"^(?:vnd|₫)\s*")
_TOKEN = re.compile(r"\s*(?:(?P<num>[0-9]+(?:(?:[.,]|\s)[0-9]+)*)|(?P<word>[a-z]+))")
_MARKS = re.compile(r"[.,\s]")


def _fmt(n: int) -> str:
    """Vietnamese digit grouping for messages: 10000000000 → "10.000.000.000"."""
    return f"{n:,}".replace(",", ".")


def _valid_groups(parts: list[str]) -> bool:
    return 1 <= len(parts[0]) <= 3 and parts[0] != "0" and all(len(p) == 3 for p in parts[1:])


def _number(raw: str, *, has_unit: bool) -> Decimal:
    """Read one digit string with its separators, following the module's separator rule."""
    marks = _MARKS.findall(raw)
    if not marks:
        return Decimal(raw)
    parts = _MARKS.split(raw)
    kinds = set(marks)
    if " " in kinds:
        # "1 500 000": spaces only ever group thousands.
        if kinds != {" "} or not _valid_groups(parts):
            raise ParseError(MSG_BAD_GROUPING, number=raw)
        return Decimal("".join(parts))
    if len(kinds) == 2:
        decimal_mark = marks[-1]
        if marks.count(decimal_mark) != 1 or not _valid_groups(parts[:-1]):
            raise ParseError(MSG_BAD_GROUPING, number=raw)
        return Decimal("".join(parts[:-1]) + "." + parts[-1])
    if len(marks) > 1 or _valid_groups(parts):
        if not _valid_groups(parts):
            raise ParseError(MSG_BAD_GROUPING, number=raw)
        return Decimal("".join(parts))
    # A single mark not followed by three digits: a decimal mark.
    if not has_unit:
        raise ParseError(MSG_NEEDS_UNIT, number=raw)
    return Decimal(parts[0] + "." + parts[1])


def _tail(digits: str, unit: int) -> Decimal:
    """Digits after a unit are its decimals: "1tr5" is 1.5 million, "1tr25" 1.25 million."""
    if not digits.isdigit() or len(digits) > 3:
        raise ParseError(MSG_NOT_UNDERSTOOD)
    return Decimal("0." + digits) * unit


def _lex(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ParseError(MSG_NOT_UNDERSTOOD)
        out.append(("num", m["num"]) if m["num"] is not None else ("word", m["word"]))
        pos = m.end()
    return out


def _evaluate(toks: list[tuple[str, str]]) -> Decimal:
    """Sum terms like "1 tỷ 200 triệu 500k", each unit smaller than the one before."""
    total = Decimal(0)
    last_unit: int | None = None
    i = 0
    while i < len(toks):
        kind, value = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if kind == "word":
            if value == _HALF and last_unit is not None and nxt is None:
                return total + Decimal(last_unit) / 2
            raise ParseError(MSG_NOT_UNDERSTOOD)
        if nxt is None:
            if last_unit is None:
                return _number(value, has_unit=False)
            return total + _tail(value, last_unit)
        if nxt[0] != "word" or nxt[1] not in _UNITS:
            raise ParseError(MSG_NOT_UNDERSTOOD)
        unit = _UNITS[nxt[1]]
        amount = _number(value, has_unit=True)
        if last_unit is not None and (unit >= last_unit or amount * unit >= last_unit):
            raise ParseError(MSG_NOT_UNDERSTOOD)
        total += amount * unit
        last_unit = unit
        i += 2
    return total


def parse_money(text: str, *, maximum: int = 10_000_000_000) -> int:
    """Amount in dong from free text such as "500k", "1tr5", "1,5 triệu" or "1.500.000đ".

    Fractions of a dong (from "1,2345k") are rounded half up. Amounts under 1,000 dong are
    refused: "500" almost always means 500 thousand.
    """
    s = fold(text).rstrip(".!")
    if not s:
        raise ParseError(MSG_EMPTY)
    if len(s) > _MAX_INPUT:
        raise ParseError(MSG_NOT_UNDERSTOOD)
    if s[0] in "-−–" or s.startswith("am "):
        raise ParseError(MSG_NEGATIVE)
    s = _CURRENCY_START.sub("", _CURRENCY_END.sub("", s))
    toks = _lex(s)
    if not any(kind == "num" for kind, _ in toks):
        raise ParseError(MSG_NOT_UNDERSTOOD)
    value = _evaluate(toks)
    if value > maximum:  # before rounding: quantize() fails on numbers beyond 28 digits
        raise ParseError(MSG_TOO_LARGE, maximum=_fmt(maximum))
    amount = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if amount <= 0:
        raise ParseError(MSG_ZERO)
    if amount < MINIMUM:
        raise ParseError(MSG_TOO_SMALL, amount=amount)
    if amount > maximum:
        raise ParseError(MSG_TOO_LARGE, maximum=_fmt(maximum))
    return amount
