"""Field kinds: how one answer is read, checked and shown back.

Each kind turns raw input (typed text, a pressed button, a photo, a shared contact) into a
JSON-safe value, or raises ParseError with a Vietnamese message id saying what is expected.
Kinds with options (choice, multi-choice, yes/no, place candidates) also say what to offer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Literal

from conversations.i18n import N_
from conversations.parsing import age, money, phone, places
from conversations.parsing.errors import ParseError
from conversations.parsing.text import fold

Value = Any  # JSON-safe: str, int, bool, None, list[str], dict


@dataclass(frozen=True, slots=True)
class Input:
    """One thing the person sent, as the engine sees it (no framework types)."""

    text: str | None = None
    button: str | None = None
    photo: str | None = None
    contact: str | None = None


@dataclass(frozen=True, slots=True)
class Option:
    code: str  # short ASCII, stored in the database and in button data
    label: str  # Vietnamese message id


@dataclass(frozen=True, slots=True)
class Context:
    """What a pure engine needs from outside: today's date and the reader's language."""

    today: date
    translate: Callable[[str], str] = lambda s: s
    format_money: Callable[[int], str] = lambda n: f"{n:,}".replace(",", ".") + " ₫"
    format_date: Callable[[date], str] = lambda d: d.strftime("%d/%m/%Y")

    def t(self, message: str, **params: object) -> str:
        text = self.translate(message)
        return text.format(**params) if params else text


def is_number(text: str) -> bool:
    """ASCII digits only: '²' and '٣' are digits to Python, not to a typed menu choice."""
    return text.isascii() and text.isdigit()


UNKNOWN_WORDS = frozenset({"chua ro", "khong ro", "khong biet", "chua biet", "unknown", "?"})


def _digits_list(text: str) -> list[int] | None:
    """'1, 3 5' -> [1, 3, 5]; None when the text is not only numbers."""
    parts = [p for p in re.split(r"[\s,;.+/&]+|\bva\b|\band\b", fold(text)) if p]
    if parts and all(is_number(p) and len(p) <= 3 for p in parts):
        return [int(p) for p in parts]
    return None


def match_option(text: str, options: Sequence[Option], ctx: Context) -> Option:
    """Find the option meant by typed text: its number, or its label without diacritics."""
    folded = fold(text).strip(" .")
    if is_number(folded):
        n = int(folded)
        if 1 <= n <= len(options):
            return options[n - 1]
        raise ParseError(N_("Hãy gõ một số từ 1 đến {n}, hoặc bấm một lựa chọn."), n=len(options))
    if not folded:
        raise ParseError(N_("Hãy chọn một mục: bấm nút hoặc gõ số thứ tự."))
    labels = [(o, _names(o.label, ctx.translate(o.label))) for o in options]
    exact = [o for o, names in labels if folded in names]
    if len(exact) == 1:
        return exact[0]
    words = folded.split()
    starts = [o for o, names in labels if any(_starts_with_words(n, words) for n in names)]
    if len(starts) == 1:
        return starts[0]
    inside = [o for o, names in labels if any(folded in n for n in names)]
    if len(inside) == 1:
        return inside[0]
    if len(starts) > 1 or len(inside) > 1:
        raise ParseError(N_("Có nhiều mục khớp với «{text}». Hãy gõ số thứ tự."), text=text[:40])
    raise ParseError(N_("Không có mục «{text}». Hãy bấm một lựa chọn hoặc gõ số thứ tự."), text=text[:40])


@functools.lru_cache(maxsize=1024)
def _names(label: str, translated: str) -> frozenset[str]:
    """An option's label and its translation, folded: the same few hundred labels, every answer."""
    return frozenset({fold(label), fold(translated)})


def _starts_with_words(name: str, words: list[str]) -> bool:
    return name.split()[: len(words)] == words if words else False


class Field:
    """Base of all field kinds."""

    kind: ClassVar[str] = "field"
    accepts_photo: ClassVar[bool] = False
    accepts_contact: ClassVar[bool] = False

    def parse(self, inp: Input, answers: dict[str, Value], pending: dict[str, Value], ctx: Context) -> Value:
        """Return the value, or raise ParseError. May put a half-made answer into `pending`."""
        if inp.text is None:
            raise ParseError(self.hint())
        return self.parse_text(inp.text, answers, ctx)

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        raise ParseError(self.hint())

    def hint(self) -> str:
        return N_("Hãy gõ câu trả lời.")

    def options(self, answers: dict[str, Value], pending: dict[str, Value]) -> list[Option]:
        return []

    def display(self, value: Value, ctx: Context) -> str:
        return str(value)


@dataclass(frozen=True)
class Text(Field):
    """Free text, e.g. a name or a description. `unknown_ok` lets 'chưa rõ' stand as an answer."""

    kind: ClassVar[str] = "text"
    max_len: int = 500
    min_len: int = 1
    unknown_ok: bool = False
    needs_letters: bool = False

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        cleaned = re.sub(r"[ \t]+", " ", "".join(ch for ch in text if ch.isprintable() or ch == "\n")).strip()
        if self.unknown_ok and fold(cleaned) in UNKNOWN_WORDS:
            return None
        if len(cleaned) < self.min_len:
            raise ParseError(self.hint())
        if len(cleaned) > self.max_len:
            raise ParseError(N_("Câu trả lời dài quá: tối đa {max} ký tự, bạn đã gõ {n}. Hãy viết ngắn lại."), max=self.max_len, n=len(cleaned))
        if self.needs_letters and not any(ch.isalpha() for ch in cleaned):
            raise ParseError(N_("Hãy gõ bằng chữ, ví dụ: Nguyễn Văn An (hoặc «chưa rõ»)."))
        return cleaned

    def hint(self) -> str:
        if self.unknown_ok:
            return N_("Hãy gõ câu trả lời, hoặc «chưa rõ» nếu bạn không biết.")
        return N_("Hãy gõ câu trả lời.")

    def display(self, value: Value, ctx: Context) -> str:
        return ctx.t(N_("chưa rõ")) if value is None else str(value)


@dataclass(frozen=True)
class Choice(Field):
    """One option out of a few: tap a button, type its number, or type its label."""

    kind: ClassVar[str] = "choice"
    choices: tuple[Option, ...] = ()

    def parse(self, inp: Input, answers: dict[str, Value], pending: dict[str, Value], ctx: Context) -> Value:
        if inp.button is not None:
            for option in self.choices:
                if inp.button == f"c:{option.code}":
                    return option.code
            raise ParseError(STALE_BUTTON)
        if inp.text is None:
            raise ParseError(self.hint())
        return match_option(inp.text, self.choices, ctx).code

    def hint(self) -> str:
        return N_("Hãy chọn một mục: bấm nút hoặc gõ số thứ tự.")

    def options(self, answers: dict[str, Value], pending: dict[str, Value]) -> list[Option]:
        return list(self.choices)

    def display(self, value: Value, ctx: Context) -> str:
        for option in self.choices:
            if option.code == value:
                return ctx.t(option.label)
        return str(value)


YES, NO = Option("yes", N_("Có")), Option("no", N_("Không"))
YES_WORDS = frozenset({"co", "c", "yes", "y", "dung", "roi", "da", "ok", "vang", "u"})
NO_WORDS = frozenset({"khong", "k", "ko", "kg", "no", "n", "chua", "sai"})


@dataclass(frozen=True)
class YesNo(Field):
    """Yes or no; stored as a bool. Typed 'có', 'co', 'k', 'không', '1', '2' all work."""

    kind: ClassVar[str] = "yesno"

    def parse(self, inp: Input, answers: dict[str, Value], pending: dict[str, Value], ctx: Context) -> Value:
        if inp.button is not None:
            if inp.button in ("c:yes", "c:no"):
                return inp.button == "c:yes"
            raise ParseError(STALE_BUTTON)
        if inp.text is None:
            raise ParseError(self.hint())
        folded = fold(inp.text).strip(" .!")
        first = folded.split(" ", 1)[0] if folded else ""
        if folded in YES_WORDS or folded == "1" or first in YES_WORDS - {"u"}:
            return True
        if folded in NO_WORDS or folded == "2" or first in NO_WORDS:
            return False
        return match_option(inp.text, (YES, NO), ctx).code == "yes"

    def hint(self) -> str:
        return N_("Hãy trả lời «có» hoặc «không» (hoặc gõ 1 hay 2).")

    def options(self, answers: dict[str, Value], pending: dict[str, Value]) -> list[Option]:
        return [YES, NO]

    def display(self, value: Value, ctx: Context) -> str:
        return ctx.t(YES.label if value else NO.label)


DONE = "done"


@dataclass(frozen=True)
class MultiChoice(Field):
    """Several options: tap to tick and then 'Xong', or type '1, 3' or labels separated by commas."""

    kind: ClassVar[str] = "multi"
    choices: tuple[Option, ...] = ()
    min_count: int = 1

    def parse(self, inp: Input, answers: dict[str, Value], pending: dict[str, Value], ctx: Context) -> Value:
        ticked: list[str] = list(pending.get("ticked", []))
        if inp.button is not None:
            if inp.button == f"c:{DONE}" and len(ticked) >= self.min_count:
                return self._ordered(ticked)
            if inp.button == f"c:{DONE}":
                raise ParseError(N_("Hãy chọn ít nhất một mục (bấm hoặc gõ số), rồi chọn «Xong»."))
            code = inp.button.removeprefix("t:")
            if inp.button.startswith("t:") and any(o.code == code for o in self.choices):
                ticked = [c for c in ticked if c != code] if code in ticked else [*ticked, code]
                pending["ticked"] = ticked
                raise Pending()
            raise ParseError(STALE_BUTTON)
        if inp.text is None:
            raise ParseError(self.hint())
        if fold(inp.text) in ("xong", "done") and len(ticked) >= self.min_count:
            return self._ordered(ticked)
        numbers = _digits_list(inp.text)
        if numbers is not None:
            bad = [n for n in numbers if not 1 <= n <= len(self.choices)]
            if bad:
                raise ParseError(N_("Hãy gõ các số từ 1 đến {n}, cách nhau bằng dấu phẩy, ví dụ: 1, 3."), n=len(self.choices))
            return self._ordered([self.choices[n - 1].code for n in numbers])
        parts = [p for p in re.split(r"[,;\n]+", inp.text) if p.strip()]
        if not parts:
            raise ParseError(self.hint())
        return self._ordered([match_option(p, self.choices, ctx).code for p in parts])

    def _ordered(self, codes: list[str]) -> list[str]:
        chosen = set(codes)
        return [o.code for o in self.choices if o.code in chosen]

    def hint(self) -> str:
        return N_("Hãy chọn một hay nhiều mục: bấm từng mục rồi «Xong», hoặc gõ các số, ví dụ: 1, 3.")

    def options(self, answers: dict[str, Value], pending: dict[str, Value]) -> list[Option]:
        return list(self.choices)

    def display(self, value: Value, ctx: Context) -> str:
        labels = {o.code: ctx.t(o.label) for o in self.choices}
        return "; ".join(labels.get(code, code) for code in value or [])


@dataclass(frozen=True)
class Money(Field):
    """An amount in VND, typed the Vietnamese way: 500k, 1tr5, 1,5 triệu, 1.500.000."""

    kind: ClassVar[str] = "money"
    maximum: int = 10_000_000_000

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        return money.parse_money(text, maximum=self.maximum)

    def hint(self) -> str:
        return N_("Hãy gõ số tiền, ví dụ: 500k, 1,5 triệu hoặc 1.500.000.")

    def display(self, value: Value, ctx: Context) -> str:
        return ctx.format_money(int(value))


@dataclass(frozen=True)
class Number(Field):
    """A whole number in a range (counts, quantities)."""

    kind: ClassVar[str] = "number"
    minimum: int = 0
    maximum: int = 1_000_000

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        digits = fold(text).replace(".", "").replace(" ", "")
        if not is_number(digits) or not self.minimum <= int(digits) <= self.maximum:
            raise ParseError(N_("Hãy gõ một số từ {min} đến {max}."), min=self.minimum, max=self.maximum)
        return int(digits)

    def hint(self) -> str:
        return N_("Hãy gõ một số.")


@dataclass(frozen=True)
class DateOrAge(Field):
    """Date of birth, year of birth, age or estimated age. Up to 17; 16-17 are flagged later."""

    kind: ClassVar[str] = "birth"

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        return age.parse_birth(text, ctx.today).to_json()

    def hint(self) -> str:
        return N_("Hãy gõ ngày sinh (12/3/2015), năm sinh (2015) hoặc tuổi (7 tuổi, khoảng 7 tuổi, 8 tháng).")

    def display(self, value: Value, ctx: Context) -> str:
        birth = age.Birth.from_json(value)
        if birth.dob is not None:
            shown = ctx.t(N_("{date} ({years} tuổi)"), date=ctx.format_date(birth.dob), years=birth.age_years)
        elif birth.age_months is not None and birth.age_years == 0:
            shown = ctx.t(N_("{months} tháng tuổi"), months=birth.age_months)
        elif birth.estimated:
            shown = ctx.t(N_("khoảng {years} tuổi"), years=birth.age_years)
        else:
            shown = ctx.t(N_("{years} tuổi"), years=birth.age_years)
        if birth.over_child_age:
            shown += " — " + ctx.t(N_("từ 16 tuổi: cán bộ sẽ xem xét"))
        return shown


@dataclass(frozen=True)
class Phone(Field):
    """A Vietnamese phone number (mobile or landline), stored as E.164; a shared contact works."""

    kind: ClassVar[str] = "phone"
    accepts_contact: ClassVar[bool] = True

    def parse(self, inp: Input, answers: dict[str, Value], pending: dict[str, Value], ctx: Context) -> Value:
        raw = inp.contact if inp.contact is not None else inp.text
        if raw is None:
            raise ParseError(self.hint())
        return phone.parse_vn_phone(raw)

    def hint(self) -> str:
        return N_("Hãy gõ số điện thoại Việt Nam, ví dụ: 0912 345 678.")

    def display(self, value: Value, ctx: Context) -> str:
        return phone.format_vn_phone(str(value))


@dataclass(frozen=True)
class Place(Field):
    """A province or a commune/ward of the 2025 map, found by typing part of its name."""

    kind: ClassVar[str] = "place"
    level: Literal["province", "ward"] = "province"
    province_field: str = "province"
    limit: int = 8

    def _search(self, text: str, answers: dict[str, Value]) -> list[places.Place]:
        if self.level == "province":
            return places.search_provinces(text, limit=self.limit)
        return places.search_wards(int(answers[self.province_field]), text, limit=self.limit)

    def parse(self, inp: Input, answers: dict[str, Value], pending: dict[str, Value], ctx: Context) -> Value:
        candidates: list[int] = list(pending.get("candidates", []))
        if inp.button is not None:
            code = inp.button.removeprefix("p:")
            if inp.button.startswith("p:") and is_number(code) and int(code) in candidates:
                return int(code)
            raise ParseError(STALE_BUTTON)
        if inp.text is None:
            raise ParseError(self.hint())
        folded = fold(inp.text).strip(" .")
        if is_number(folded) and candidates:
            n = int(folded)
            if 1 <= n <= len(candidates):
                return candidates[n - 1]
            raise ParseError(N_("Hãy gõ một số từ 1 đến {n}, hoặc bấm một lựa chọn."), n=len(candidates))
        if len(folded) < 2:
            raise ParseError(self.hint())
        found = self._search(inp.text, answers)
        exact = [p for p in found if fold(p.short) == folded or fold(p.name) == folded]
        if len(exact) == 1 or len(found) == 1:
            return (exact or found)[0].code
        if not found:
            pending.pop("candidates", None)
            raise ParseError(self.not_found(), text=inp.text[:40])
        pending["candidates"] = [p.code for p in found]
        raise Pending(N_("Có {n} nơi khớp. Hãy chọn một, hoặc gõ tên đầy đủ hơn."), n=len(found))

    def not_found(self) -> str:
        if self.level == "province":
            return N_("Không tìm thấy tỉnh/thành «{text}». Hãy gõ lại, ví dụ: lao cai, ha noi, hcm.")
        return N_("Không tìm thấy xã/phường «{text}» trong tỉnh đã chọn. Hãy gõ lại một phần tên, có dấu hay không dấu đều được.")

    def hint(self) -> str:
        if self.level == "province":
            return N_("Hãy gõ tên tỉnh/thành, có dấu hay không dấu đều được, ví dụ: lao cai.")
        return N_("Hãy gõ tên xã/phường, có dấu hay không dấu đều được, ví dụ: ban ho.")

    def options(self, answers: dict[str, Value], pending: dict[str, Value]) -> list[Option]:
        lookup = places.province if self.level == "province" else places.ward
        return [Option(str(code), lookup(code).name) for code in pending.get("candidates", [])]

    def display(self, value: Value, ctx: Context) -> str:
        return (places.province if self.level == "province" else places.ward)(int(value)).name


@dataclass(frozen=True)
class Photo(Field):
    """A photo sent from the phone; stored as the channel's file id (encrypted: personal)."""

    kind: ClassVar[str] = "photo"
    accepts_photo: ClassVar[bool] = True

    def parse(self, inp: Input, answers: dict[str, Value], pending: dict[str, Value], ctx: Context) -> Value:
        if inp.photo is None:
            raise ParseError(self.hint())
        return inp.photo

    def hint(self) -> str:
        return N_("Hãy gửi một ảnh, hoặc gõ «bỏ qua».")

    def display(self, value: Value, ctx: Context) -> str:
        return ctx.t(N_("đã có ảnh"))


STALE_BUTTON = N_("Nút này không còn dùng được. Hãy chọn lại ở tin nhắn mới nhất.")


@dataclass
class Pending(Exception):
    """Not an answer yet (a tick in a multi-choice, a list of matching places): ask again."""

    message: str | None = None
    params: dict[str, object] = field(default_factory=dict)

    def __init__(self, message: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.message, self.params = message, params
