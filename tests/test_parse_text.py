"""fold/tokens: the basis of every diacritics-insensitive match."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.parsing.text import fold, tokens


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Hải Phòng", "hai phong"),
        ("ĐÀ NẴNG", "da nang"),
        ("Đắk Lắk", "dak lak"),
        ("Xã  Bắc Đông Quan", "xa bac dong quan"),
        ("  Thành\tphố\u00a0Huế \n", "thanh pho hue"),
        ("Nguyễn Thị Ánh", "nguyen thi anh"),
        ("Ea M’Droh", "ea m’droh"),
        ("1.500.000 đồng", "1.500.000 dong"),
        ("", ""),
        ("Zero\u200bwidth", "zerowidth"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_same_for_decomposed_input() -> None:
    nfc = "Thành phố Hồ Chí Minh, Quảng Ngãi, Đồng Tháp"
    assert fold(unicodedata.normalize("NFD", nfc)) == fold(nfc) == "thanh pho ho chi minh, quang ngai, dong thap"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("TP. Hồ Chí Minh", ["tp", "ho", "chi", "minh"]),
        ("Xã Ea H’leo", ["xa", "ea", "h", "leo"]),
        ("Văn Miếu - Quốc Tử Giám", ["van", "mieu", "quoc", "tu", "giam"]),
        ("  ", []),
        ("snake_case", ["snake", "case"]),
    ],
)
def test_tokens(raw: str, words: list[str]) -> None:
    assert tokens(raw) == words


@given(st.text())
def test_fold_idempotent(s: str) -> None:
    assert fold(fold(s)) == fold(s)


@given(st.text())
def test_fold_ignores_normal_form(s: str) -> None:
    assert fold(unicodedata.normalize("NFC", s)) == fold(unicodedata.normalize("NFD", s))


@given(st.text())
def test_fold_has_no_marks_or_runs_of_space(s: str) -> None:
    out = fold(s)
    assert "  " not in out and out == out.strip()
    assert not any(unicodedata.combining(ch) for ch in out)
    assert "đ" not in out and "Đ" not in out


@given(st.text())
def test_tokens_are_folded_words(s: str) -> None:
    for word in tokens(s):
        assert word and word == fold(word) and " " not in word
