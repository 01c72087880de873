"""places: the 2025 map (34 provinces, 3,321 wards) and diacritics-insensitive search."""

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.parsing import places
from conversations.parsing.places import (
    Place,
    all_provinces,
    case_prefix,
    province,
    search_provinces,
    search_wards,
    ward,
    wards_of,
)
from conversations.parsing.text import fold

ALL_WARDS = [w for p in all_provinces() for w in wards_of(p.code)]


def test_counts() -> None:
    assert len(all_provinces()) == 34
    assert len(ALL_WARDS) == 3321
    assert len({w.code for w in ALL_WARDS}) == 3321


def test_provinces_ordered_by_code() -> None:
    codes = [p.code for p in all_provinces()]
    assert codes == sorted(codes) and codes[0] == 1


def test_lookup() -> None:
    assert province(31) == Place(31, "Thành phố Hải Phòng", "Hải Phòng", 31)
    assert province(4).short == "Cao Bằng"
    hoan_kiem = ward(70)
    assert (hoan_kiem.name, hoan_kiem.short, hoan_kiem.province_code) == ("Phường Hoàn Kiếm", "Hoàn Kiếm", 1)
    assert type(hoan_kiem.code) is int and type(hoan_kiem.province_code) is int
    for missing in (province, ward, wards_of, case_prefix):
        with pytest.raises(KeyError):
            missing(2)


def test_short_names_are_clean() -> None:
    for p in all_provinces() + ALL_WARDS:
        assert p.short == " ".join(p.short.split()) and p.short
        assert not p.short.startswith(("Thành phố ", "Tỉnh ", "Xã ", "Phường ", "Đặc khu "))
        assert fold(p.short) in fold(p.name)


def test_double_spaced_names_kept_official_but_short_single() -> None:
    doubled = [w for w in ALL_WARDS if "  " in w.name]
    assert len(doubled) == 10
    assert all("  " not in w.short for w in doubled)


def test_wards_belong_to_their_province() -> None:
    for p in all_provinces():
        wards = wards_of(p.code)
        assert wards and [w.code for w in wards] == sorted(w.code for w in wards)
        assert all(w.province_code == p.code for w in wards)


@pytest.mark.parametrize(
    ("query", "short"),
    [
        ("hai phong", "Hải Phòng"),
        ("Hải Phòng", "Hải Phòng"),
        ("haiphong", "Hải Phòng"),
        ("TP Hải Phòng", "Hải Phòng"),
        ("thành phố hải phòng", "Hải Phòng"),
        ("tp hcm", "Hồ Chí Minh"),
        ("TP.HCM", "Hồ Chí Minh"),
        ("hcm", "Hồ Chí Minh"),
        ("sai gon", "Hồ Chí Minh"),
        ("saigon", "Hồ Chí Minh"),
        ("ho chi minh", "Hồ Chí Minh"),
        ("hn", "Hà Nội"),
        ("ha noi", "Hà Nội"),
        ("hue", "Huế"),
        ("Huế", "Huế"),
        ("lao cai", "Lào Cai"),
        ("tinh lao cai", "Lào Cai"),
        ("dak lak", "Đắk Lắk"),
        ("dong nai", "Đồng Nai"),
        ("can tho", "Cần Thơ"),
        ("binh duong", "Hồ Chí Minh"),  # merged into Hồ Chí Minh on 1 July 2025
        ("quang nam", "Đà Nẵng"),
        ("ha giang", "Tuyên Quang"),
        ("thanh hoa", "Thanh Hóa"),
        ("thanh hoá", "Thanh Hóa"),
    ],
)
def test_search_provinces_best_match(query: str, short: str) -> None:
    assert search_provinces(query)[0].short == short


def test_search_provinces_ranking() -> None:
    shorts = [p.short for p in search_provinces("quang")]
    assert shorts[:3] == ["Quảng Ninh", "Quảng Trị", "Quảng Ngãi"]  # word starts, by code
    assert shorts.index("Tuyên Quang") < shorts.index("Đà Nẵng")  # a real name before a former one
    ninh = [p.short for p in search_provinces("ninh", limit=34)]
    assert ninh[0] == "Ninh Bình" and {"Quảng Ninh", "Bắc Ninh", "Tây Ninh"} <= set(ninh)


@pytest.mark.parametrize("query", ["", " ", "a", "ả", "!!", "zzzz", "'; DROP TABLE cases;--"])
def test_search_provinces_nothing(query: str) -> None:
    assert search_provinces(query) == []


def test_limit() -> None:
    assert len(search_provinces("an", limit=3)) == 3
    assert search_provinces("ha noi", limit=0) == []


@pytest.mark.parametrize(
    ("province_code", "query", "name"),
    [
        (15, "ban ho", "Xã Bản Hồ"),
        (15, "Bản Hồ", "Xã Bản Hồ"),
        (15, "xa ban ho", "Xã Bản Hồ"),
        (1, "hoan kiem", "Phường Hoàn Kiếm"),
        (1, "p hoan kiem", "Phường Hoàn Kiếm"),
        (79, "ben thanh", "Phường Bến Thành"),
        (68, "phuong 1", "Phường 1 Bảo Lộc"),
        (1, "van mieu", "Phường Văn Miếu - Quốc Tử Giám"),
        (66, "ea hleo", "Xã Ea H’leo"),
        (66, "ea h'leo", "Xã Ea H’leo"),
    ],
)
def test_search_wards(province_code: int, query: str, name: str) -> None:
    assert search_wards(province_code, query)[0].name == name


def test_search_wards_stays_in_province() -> None:
    for p in all_provinces():
        assert all(w.province_code == p.code for w in search_wards(p.code, "an", limit=50))


def test_every_ward_found_by_its_own_name() -> None:
    """All 3,321: searching a ward's folded short name in its province lists it first among equals."""
    for w in ALL_WARDS:
        found = search_wards(w.province_code, fold(w.short), limit=50)
        exact = [f for f in found if fold(f.short) == fold(w.short)]
        assert w in exact, w
        assert found[: len(exact)] == exact, w  # exact matches rank first


def test_every_province_found_by_its_own_name() -> None:
    for p in all_provinces():
        assert search_provinces(fold(p.short))[0] == p
        assert search_provinces(p.name)[0] == p


def test_decomposed_query() -> None:
    assert search_wards(15, unicodedata.normalize("NFD", "Bản Hồ"))[0].short == "Bản Hồ"


def test_case_prefixes() -> None:
    prefixes = [case_prefix(p.code) for p in all_provinces()]
    assert len(set(prefixes)) == 34
    assert set(places.CASE_PREFIXES) == {p.code for p in all_provinces()}
    assert all(re.fullmatch(r"[A-Z]{2,3}", x) for x in prefixes)
    assert case_prefix(31) == "HP" and case_prefix(79) == "HCM" and case_prefix(1) == "HN"


def test_aliases_point_at_real_provinces() -> None:
    codes = {p.code for p in all_provinces()}
    assert set(places.PROVINCE_ALIASES) <= codes


@given(st.text(max_size=200), st.sampled_from([1, 15, 79]))
def test_search_never_raises(query: str, province_code: int) -> None:
    assert len(search_provinces(query)) <= 8
    assert len(search_wards(province_code, query)) <= 8


def test_search_long_query() -> None:
    assert search_provinces("x" * 10_000) == []
    assert search_wards(1, "ha " * 3_000) == []
