"""Diacritics-insensitive text matching for Vietnamese.

People type "hai phong", "Hai Phong" or "Hải Phòng", in NFC or decomposed form depending on the
keyboard (Telex/VNI apps differ), so every comparison goes through `fold`.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE_RUN = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[\W_]+")
# Nonspacing and enclosing marks (the Vietnamese tone and vowel marks after NFD) and format
# characters (zero-width spaces, joiners, BOM, soft hyphen) that copy-paste leaves behind.
_DROP = frozenset({"Mn", "Me", "Cf"})


def _strip_marks(s: str) -> str:
    if s.isascii():  # nothing to decompose or drop (most answers without diacritics, numbers)
        return s
    decomposed = unicodedata.normalize("NFD", s)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in _DROP)
    return kept.replace("\u0111", "d").replace("\u0110", "d")  # đ, Đ: a letter, not a mark


def fold(s: str) -> str:
    """Lower-case, mark-free, single-spaced form of `s` for matching (never for display).

    Lower-casing happens before and after stripping marks: "İ".lower() adds a combining dot,
    and removing it must not leave anything a second pass would change (idempotence).
    """
    s = _strip_marks(s.lower()).lower()
    s = _strip_marks(s)
    return _SPACE_RUN.sub(" ", s).strip()


def tokens(s: str) -> list[str]:
    """Folded words of `s`, split on anything that is not a letter or digit."""
    return [t for t in _NON_ALNUM.split(fold(s)) if t]
