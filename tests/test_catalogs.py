"""Every user-facing message has an English translation with the same placeholders, and the
catalogs in locales/ are in step with the code (run `make extract` after changing texts)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import i18n
from bot.app import App
from tests.support import Chat

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "t": None, "ngettext": (1, 2)}


def messages_in_code() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "conversations", "storage"):
        for _file, _line, message, _comments, _context in extract_from_dir(ROOT / package, keywords=KEYWORDS):
            found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def catalog(lang: str) -> Catalog:
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "chungtay.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_every_message_in_the_code_is_in_the_english_catalog() -> None:
    english = catalog("en")
    missing = sorted(m for m in messages_in_code() if not (english.get(m) and english.get(m).string and not english.get(m).fuzzy))
    assert missing == [], f"{len(missing)} messages without an English translation, e.g. {missing[:5]}"


def test_translations_keep_every_placeholder() -> None:
    wrong = [(m.id, m.string) for m in catalog("en") if m.id and m.string and fields(str(m.id)) != fields(str(m.string))]
    assert wrong == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_english_speaking_donor_reads_english(app: App) -> None:
    visitor = Chat(app, user="31337", locale="en-GB")
    await visitor.send("/trogiup")
    assert "/ngonngu" in visitor.text
    shown = visitor.text.replace(app.settings.org_name, "ORG")  # a name is a name in any language
    assert not re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịỉĩọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", shown.lower()), shown


def test_money_and_dates_follow_the_locale() -> None:
    from datetime import date

    with i18n.use("vi"):
        assert i18n.money(1_500_000) == "1.500.000\xa0₫"
        assert i18n.day(date(2026, 3, 12)) == "12/03/2026"
    with i18n.use("en"):
        assert i18n.money(1_500_000) == "₫1,500,000"
