"""Every place that takes a day reads «hôm nay»/«hôm qua» the same way, spaced or run together
(«homnay», as a phone keyboard that drops the space sends it), with or without marks, NFC or NFD:
/xuat's period, the staff «support delivered» day and the pledge receipt day."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from bot.app import App
from bot.staff.exports import parse_period
from conversations.donor_forms import Day as ReceiptDay
from conversations.fields import Context
from conversations.parsing.errors import ParseError
from conversations.staff_forms import parse_day
from tests.support import Chat
from tests.test_staff_helpers import STAFF, make_case

TODAY = date(2026, 11, 24)
YESTERDAY = date(2026, 11, 23)
NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731

DAYS = [
    ("hôm nay", TODAY), ("hom nay", TODAY), ("homnay", TODAY), ("Hômnay", TODAY), ("HOMNAY.", TODAY), ("hnay", TODAY),
    (NFD("hômnay"), TODAY), (NFD("Hôm nay"), TODAY), ("today", TODAY), ("ngày hôm nay", TODAY),
    ("hôm qua", YESTERDAY), ("homqua", YESTERDAY), ("hômqua", YESTERDAY), (NFD("hômqua"), YESTERDAY), ("hqua", YESTERDAY),
    ("yesterday", YESTERDAY), ("ngày hôm qua", YESTERDAY),
    ("15/11/2026", date(2026, 11, 15)), ("15/11", date(2026, 11, 15)),
]


@pytest.mark.parametrize(("typed", "day"), DAYS)
def test_parse_day(typed: str, day: date) -> None:
    assert parse_day(typed, TODAY) == day


@pytest.mark.parametrize(("typed", "day"), DAYS)
def test_receipt_day(typed: str, day: date) -> None:
    assert ReceiptDay().parse_text(typed, {}, Context(today=TODAY)) == day.isoformat()


@pytest.mark.parametrize("typed", ["homnayy", "hom", "ngày mai", "hôm kia"])
def test_not_a_day(typed: str) -> None:
    with pytest.raises(ParseError):
        parse_day(typed, TODAY)


@pytest.mark.parametrize(
    ("args", "start", "end"),
    [
        (("tu", "homnay"), TODAY, None),
        (("từ", "hômnay"), TODAY, None),
        (("tu", NFD("hômnay")), TODAY, None),
        (("tu", "hom", "nay"), TODAY, None),
        (("tu", "homqua", "den", "homnay"), YESTERDAY, TODAY),
        (("từ", "hôm", "qua", "đến", "hôm", "nay"), YESTERDAY, TODAY),
        (("tu", "ngay", "hom", "qua", "den", "hnay"), YESTERDAY, TODAY),
        (("andanh", "tu", "1/11/2026", "den", "homqua"), date(2026, 11, 1), YESTERDAY),
        (("tu homqua den homnay",), YESTERDAY, TODAY),  # one argument, as some channels pass it
    ],
)
def test_period_words(args: tuple[str, ...], start: date | None, end: date | None) -> None:
    period = parse_period(args, TODAY)
    assert not isinstance(period, str), period
    assert (period.start, period.end) == (start, end)


async def test_export_from_homnay_is_accepted(app: App) -> None:
    await make_case(app)
    staff = Chat(app, STAFF)
    for typed in ("/xuat tu homnay", "/xuat tu hôm nay", "/xuat tu homqua den homnay", f"/xuat tu {NFD('hômnay')}"):
        await staff.send(typed)
        assert "Đã xuất 1 hồ sơ" in staff.text, (typed, staff.text)
