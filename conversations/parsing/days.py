"""Day words: «hôm nay», «hôm qua», however they are typed.

On a phone people type "hôm nay", "hom nay", "Hôm Nay.", "homnay" (the space is easy to miss on
a small keyboard), the chat short form "hnay", NFC or decomposed (Telex/VNI apps differ), or
"today" in English. Every form and command that takes a day asks `days_ago`, so a word accepted
in one place is accepted in all of them.
"""

from __future__ import annotations

from datetime import date, timedelta

from conversations.parsing.text import tokens

# Keyed by the folded words run together: "hôm nay", "hom  nay", "hôm-nay" and "homnay" all
# become "homnay", so spaced and run-together forms are one entry.
_DAYS_AGO = {
    "homnay": 0, "nay": 0, "hnay": 0, "ngayhomnay": 0, "today": 0,
    "homqua": 1, "qua": 1, "hqua": 1, "ngayhomqua": 1, "yesterday": 1,
}
_MAX_CHARS = 40  # longer than any day word: do not fold a pasted paragraph


def days_ago(text: str) -> int | None:
    """How many days before today a day word means (0 «hôm nay», 1 «hôm qua»), or None."""
    if len(text) > _MAX_CHARS:
        return None
    return _DAYS_AGO.get("".join(tokens(text)))


def named_day(text: str, today: date) -> date | None:
    """The date a day word names, counted from `today`; None when `text` is not a day word."""
    ago = days_ago(text)
    return None if ago is None else today - timedelta(days=ago)
