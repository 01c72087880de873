"""Translation and formatting for the person being answered.

The language is a context variable set by the router per event, so handler code simply calls
`_("...")` with a Vietnamese source string (the message id) and Babel-formats numbers, money
and dates in that person's locale. Catalogs live in locales/; `make` compiles them; when a
compiled catalog is missing or older than its .po, the .po is read directly.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "chungtay"
SUPPORTED = ("vi", "en")
BABEL_LOCALES = {"vi": "vi_VN", "en": "en_US"}
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_current: ContextVar[str] = ContextVar("locale", default="vi")


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


def pick(preferred: str | None, default: str = "vi") -> str:
    """The supported language closest to a client's code ('en-GB' -> 'en', 'fr' -> default)."""
    if preferred:
        base = preferred.replace("_", "-").split("-", 1)[0].lower()
        if base in SUPPORTED:
            return base
    return default


@cache
def translations(lang: str) -> gettext.NullTranslations:
    po = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if po.exists():
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    return gettext.NullTranslations()


def current() -> str:
    return _current.get()


@contextmanager
def use(lang: str) -> Iterator[None]:
    token = _current.set(lang if lang in SUPPORTED else "vi")
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def t(message: str, **params: object) -> str:
    """Translate, then fill {placeholders}."""
    text = _(message)
    return text.format(**params) if params else text


def babel_locale() -> Locale:
    return Locale.parse(BABEL_LOCALES[_current.get()])


def money(amount: int) -> str:
    """1500000 -> '1.500.000 ₫' (vi) or '₫1,500,000' (en). VND has no minor unit."""
    return format_currency(amount, "VND", locale=babel_locale(), currency_digits=True)


def number(value: float) -> str:
    return format_decimal(value, locale=babel_locale())


def percent(value: float) -> str:
    return format_percent(value, locale=babel_locale(), format="#,##0.#%")


def day(value: date) -> str:
    return babel_format_date(value, format="short" if _current.get() == "en" else "dd/MM/yyyy", locale=babel_locale())


def moment(value: datetime) -> str:
    """A time as people in Vietnam read it: local time, 24-hour clock."""
    local = value.astimezone(VN_TZ)
    pattern = "HH:mm dd/MM/yyyy" if _current.get() == "vi" else "HH:mm, d MMM yyyy"
    return babel_format_datetime(local, pattern, tzinfo=VN_TZ, locale=babel_locale())
