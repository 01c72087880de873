"""Provinces and communes/wards after the 1 July 2025 reform (34 provinces, 3,321 wards).

Wraps the `vietnam_provinces` package, which has no diacritics-insensitive search: people type
"ban ho" for "Bản Hồ" or "sai gon" for Hồ Chí Minh, so names are folded once and searched here.
Places are keyed by their numeric code, never by name: 238 ward names repeat across provinces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from vietnam_provinces import Province, Ward

from conversations.parsing.text import fold, tokens

# Folded type words that start official names ("Thành phố", "Tỉnh", "Phường", "Xã", "Đặc khu").
_NAME_TYPE_WORDS: tuple[tuple[str, ...], ...] = (
    ("thanh", "pho"),
    ("dac", "khu"),
    ("tinh",),
    ("phuong",),
    ("xa",),
)
# Words people put before a name that are not part of it: "tp hcm", "tỉnh Lào Cai", "xã Bản Hồ".
_QUERY_TYPE_WORDS = (*_NAME_TYPE_WORDS, ("tp",), ("p",), ("x",))

# Case-number prefixes (e.g. HP-2026-000123): 2-3 ASCII letters, unique, recognisable.
CASE_PREFIXES: dict[int, str] = {
    1: "HN",  # Hà Nội
    4: "CB",  # Cao Bằng
    8: "TQ",  # Tuyên Quang
    11: "DB",  # Điện Biên
    12: "LCH",  # Lai Châu
    14: "SL",  # Sơn La
    15: "LCA",  # Lào Cai
    19: "TNG",  # Thái Nguyên
    20: "LS",  # Lạng Sơn
    22: "QNI",  # Quảng Ninh
    24: "BN",  # Bắc Ninh
    25: "PT",  # Phú Thọ
    31: "HP",  # Hải Phòng
    33: "HY",  # Hưng Yên
    37: "NB",  # Ninh Bình
    38: "TH",  # Thanh Hóa
    40: "NA",  # Nghệ An
    42: "HT",  # Hà Tĩnh
    44: "QT",  # Quảng Trị
    46: "HUE",  # Huế
    48: "DNG",  # Đà Nẵng
    51: "QNG",  # Quảng Ngãi
    52: "GL",  # Gia Lai
    56: "KH",  # Khánh Hòa
    66: "DLK",  # Đắk Lắk (not DL: that reads as Đà Lạt)
    68: "LD",  # Lâm Đồng
    75: "DNA",  # Đồng Nai
    79: "HCM",  # Hồ Chí Minh
    80: "TNI",  # Tây Ninh
    82: "DT",  # Đồng Tháp
    86: "VL",  # Vĩnh Long
    91: "AG",  # An Giang
    92: "CT",  # Cần Thơ
    96: "CM",  # Cà Mau
}

# Other names people use for a province: nicknames, abbreviations, and the provinces merged into
# it on 1 July 2025 (Resolution 202/2025/QH15), which people will keep typing for years.
PROVINCE_ALIASES: dict[int, tuple[str, ...]] = {
    1: ("hn", "hanoi"),
    8: ("ha giang",),
    15: ("yen bai",),
    19: ("bac kan", "bac can"),
    25: ("vinh phuc", "hoa binh"),
    24: ("bac giang",),
    31: ("hp", "hai duong"),
    33: ("thai binh",),
    37: ("ha nam", "nam dinh"),
    44: ("quang binh",),
    46: ("thua thien hue", "tt hue"),
    48: ("quang nam",),
    51: ("kon tum",),
    52: ("binh dinh",),
    56: ("ninh thuan",),
    66: ("phu yen",),
    68: ("dak nong", "binh thuan"),
    75: ("binh phuoc",),
    79: ("hcm", "tphcm", "tp hcm", "sai gon", "saigon", "sg", "binh duong", "ba ria vung tau", "vung tau"),
    80: ("long an",),
    82: ("tien giang",),
    86: ("ben tre", "tra vinh"),
    91: ("kien giang",),
    92: ("ct", "soc trang", "hau giang"),
    96: ("bac lieu",),
}


@dataclass(frozen=True, slots=True)
class Place:
    """A province or a ward, as shown to people and stored (by `code`) in cases."""

    code: int
    name: str  # official name as the package gives it, e.g. "Thành phố Hải Phòng", "Xã Bản Hồ"
    short: str  # without the type word, single-spaced: "Hải Phòng", "Bản Hồ"
    province_code: int  # for a province, its own code


@dataclass(frozen=True, slots=True)
class _Entry:
    """A place with its folded forms, computed once."""

    place: Place
    names: tuple[tuple[str, ...], ...]  # token lists of the short and full names
    aliases: tuple[tuple[str, ...], ...]  # token lists of aliases (ranked below real names)
    compact: tuple[str, ...]  # names and aliases without spaces: "haiphong", "saigon"
    initials: str  # "bh" for Bản Hồ


def _short(name: str) -> str:
    """The name without its leading type word, single-spaced ("Xã  Xuân Giang" → "Xuân Giang")."""
    words = name.split()
    for type_words in _NAME_TYPE_WORDS:
        n = len(type_words)
        if len(words) > n and tuple(fold(w) for w in words[:n]) == type_words:
            return " ".join(words[n:])
    return " ".join(words)


def _entry(place: Place, aliases: Iterable[str] = ()) -> _Entry:
    names = tuple(dict.fromkeys(t for t in (tuple(tokens(place.short)), tuple(tokens(place.name))) if t))
    alias_toks = tuple(tuple(tokens(a)) for a in aliases)
    compact = tuple("".join(t) for t in names + alias_toks)
    return _Entry(place, names, alias_toks, compact, "".join(w[0] for w in names[0]) if names else "")


@dataclass(frozen=True, slots=True)
class _Index:
    provinces: dict[int, _Entry]
    wards: dict[int, _Entry]
    wards_by_province: dict[int, tuple[_Entry, ...]]


@cache
def _index() -> _Index:
    """Build every Place and its folded names once per process (about 3,400 entries)."""
    provinces: dict[int, _Entry] = {}
    for p in sorted(Province.iter_all(), key=lambda p: int(p.code)):
        code = int(p.code)
        place = Place(code, p.name, _short(p.name), code)
        provinces[code] = _entry(place, PROVINCE_ALIASES.get(code, ()))
    wards: dict[int, _Entry] = {}
    by_province: dict[int, list[_Entry]] = {code: [] for code in provinces}
    for w in sorted(Ward.iter_all(), key=lambda w: int(w.code)):
        place = Place(int(w.code), w.name, _short(w.name), int(w.province_code))
        entry = _entry(place)
        wards[place.code] = entry
        by_province[place.province_code].append(entry)
    return _Index(provinces, wards, {k: tuple(v) for k, v in by_province.items()})


def all_provinces() -> list[Place]:
    """The 34 provinces, ordered by code (the package's order is not Vietnamese order either)."""
    return [e.place for e in _index().provinces.values()]


def province(code: int) -> Place:
    """The province with this code; KeyError if there is none."""
    return _index().provinces[code].place


def ward(code: int) -> Place:
    """The ward/commune with this code; KeyError if there is none."""
    return _index().wards[code].place


def wards_of(province_code: int) -> list[Place]:
    """Wards of a province ordered by code; KeyError for an unknown province."""
    return [e.place for e in _index().wards_by_province[province_code]]


def case_prefix(province_code: int) -> str:
    """Letters that start a case number in this province, e.g. "HP"; KeyError if unknown."""
    return CASE_PREFIXES[province_code]


def _starts_at(name: tuple[str, ...], query: tuple[str, ...], start: int) -> bool:
    return len(name) - start >= len(query) and all(
        word.startswith(q) for word, q in zip(name[start:], query, strict=False)
    )


def _word_prefix(name: tuple[str, ...], query: tuple[str, ...], *, anywhere: bool) -> bool:
    starts = range(len(name)) if anywhere else range(1)
    return any(_starts_at(name, query, i) for i in starts)


def _rank(entry: _Entry, query: tuple[str, ...]) -> int | None:
    """Lower is better; None when the entry does not match at all."""
    compact = "".join(query)
    if query in entry.names or query in entry.aliases or compact in entry.compact:
        return 0
    if any(_word_prefix(n, query, anywhere=False) for n in entry.names):
        return 1
    if len(query) == 1 and compact == entry.initials:
        return 2
    if any(_word_prefix(n, query, anywhere=True) for n in entry.names):
        return 3
    if any(_word_prefix(a, query, anywhere=False) for a in entry.aliases):
        return 4  # after real names: "ninh" wants Quảng Ninh before the former Ninh Thuận
    if any(compact in c for c in entry.compact):
        return 5
    return None


def _variants(query: str) -> list[tuple[str, ...]]:
    """The query's words, and the same without a leading type word ("tp hcm" → "hcm")."""
    words = tuple(tokens(query))
    out = [words]
    for type_words in _QUERY_TYPE_WORDS:
        n = len(type_words)
        if words[:n] == type_words and len(words) > n:
            out.append(words[n:])
            break
    return [v for v in out if len("".join(v)) >= 2]


def _search(entries: Iterable[_Entry], query: str, limit: int) -> list[Place]:
    if len(fold(query)) < 2 or limit <= 0:
        return []
    variants = _variants(query)
    ranked: list[tuple[int, int, Place]] = []
    for entry in entries:
        ranks = [r for v in variants if (r := _rank(entry, v)) is not None]
        if ranks:
            ranked.append((min(ranks), entry.place.code, entry.place))
    ranked.sort(key=lambda t: (t[0], t[1]))
    return [place for _, _, place in ranked[:limit]]


def search_provinces(query: str, limit: int = 8) -> list[Place]:
    """Provinces matching free text, best first.

    Order: exact name or alias; names starting with the query's words; initials ("hcm");
    the query's words starting later in a name; aliases starting with them; substrings.
    Ties go by code.
    """
    return list(_searched(None, query, limit))


def search_wards(province_code: int, query: str, limit: int = 8) -> list[Place]:
    """Wards of one province matching free text, ranked like `search_provinces`."""
    return list(_searched(province_code, query, limit))


@lru_cache(maxsize=4096)
def _searched(province_code: int | None, query: str, limit: int) -> tuple[Place, ...]:
    """The same few names are typed over and over (a commune's collaborators type their commune):
    a search ranks every place of a province, so each distinct one is done once."""
    index = _index()
    entries = index.provinces.values() if province_code is None else index.wards_by_province[province_code]
    return tuple(_search(entries, query, limit))
