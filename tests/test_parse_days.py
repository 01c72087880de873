"""days_ago / named_day: «hôm nay» and «hôm qua» however a phone keyboard types them."""

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.parsing.days import days_ago, named_day

TODAY = date(2026, 3, 1)  # the day after 28 February: "yesterday" crosses a month

TODAY_TYPED = [
    "hôm nay", "Hôm nay", "HÔM NAY", "hom nay", "Hom Nay.", "  hôm   nay  ", "hôm nay!", "hôm-nay",
    "homnay", "Homnay", "HOMNAY", "hômnay", "hnay", "nay", "ngày hôm nay", "ngayhomnay", "today", "Today.",
    "hôm\u00a0nay", "hôm\u200bnay",
]
YESTERDAY_TYPED = [
    "hôm qua", "Hôm qua", "hom qua", "HOM QUA", "hôm qua.", "homqua", "hômqua", "HomQua", "hqua", "qua",
    "ngày hôm qua", "yesterday", "Yesterday",
]


@pytest.mark.parametrize("text", TODAY_TYPED)
def test_today(text: str) -> None:
    assert days_ago(text) == 0
    assert named_day(text, TODAY) == TODAY


@pytest.mark.parametrize("text", YESTERDAY_TYPED)
def test_yesterday(text: str) -> None:
    assert days_ago(text) == 1
    assert named_day(text, TODAY) == date(2026, 2, 28)


@pytest.mark.parametrize("text", TODAY_TYPED + YESTERDAY_TYPED)
def test_decomposed_input_reads_the_same(text: str) -> None:
    """Telex/VNI keyboards may send NFD: the marks arrive as separate combining characters."""
    nfd = unicodedata.normalize("NFD", text)
    assert days_ago(nfd) == days_ago(text)


@pytest.mark.parametrize(
    "text",
    ["", " ", "15/3/2026", "2026-03-12", "ngày mai", "mai", "hôm kia", "hom", "nayy", "homnayqua", "hôm nay và hôm qua",
     "tuần này", "tháng này", "ngày", "hôm nay " * 10, "12"],
)
def test_not_a_day_word(text: str) -> None:
    assert days_ago(text) is None
    assert named_day(text, TODAY) is None


@given(st.text(max_size=60))
def test_any_text_is_a_known_word_or_none(text: str) -> None:
    assert days_ago(text) in (None, 0, 1)
