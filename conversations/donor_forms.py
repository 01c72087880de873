"""The donor's forms: registering, pledging, choosing provinces; and staff confirming a receipt.

Data only, like report.py. A form that needs facts from outside (what a need still lacks, what a
pledge promised) gets them as hidden answers whose ids start with "_": no step has such an id, so
they are never asked, shown in a summary or returned as answers, but fields and conditions can
read them. The router glue (bot/roles/donor.py) puts them in when it opens the form.

`personal=True` marks the donor's own data here (their name, phone, message): kept encrypted and
never logged, shown back only to that donor and to staff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from conversations.engine import Form, Step, Trigger
from conversations.fields import Choice, Context, Field, Money, Number, Option, Phone, Text, Value
from conversations.i18n import N_
from conversations.parsing import places
from conversations.parsing.days import named_day
from conversations.parsing.errors import ParseError
from conversations.parsing.money import parse_money
from conversations.parsing.text import fold

# Hidden answers (see the module docstring).
CAP = "_cap"  # VND a need still lacks when the pledge form opens; absent: help in kind only
EXPECTED = "_expected"  # VND a money pledge promised (receipt form)
PLEDGE_KIND = "_kind"  # "money" | "goods" (receipt form)
ASK_PHONE = "_ask_phone"  # no bank account configured: staff will call about the transfer

CAPPED = "capped"  # trigger: the donor offered more than the need still lacks

ANONYMOUS_WORDS = frozenset({"an danh", "anonymous", "anon", "giau ten", "khong ten", "khong neu ten"})
ALL_WORDS = frozenset({"tat ca", "het", "toan bo", "ca", "du", "all", "everything", "the rest", "phan con lai", "con lai"})
WHOLE_COUNTRY_WORDS = frozenset({"ca nuoc", "toan quoc", "tat ca", "all", "everywhere", "vietnam", "viet nam"})

LANGUAGE_OPTIONS = (Option("vi", N_("Tiếng Việt")), Option("en", N_("English")))
PLEDGE_KINDS = (Option("money", N_("Tiền (chuyển khoản)")), Option("goods", N_("Hiện vật")))


_ENGLISH_UNITS = ((re.compile(r"(?<=\d)\s*(?:millions?|mil|mn|m)\b", re.IGNORECASE), " trieu"),
                  (re.compile(r"(?<=\d)\s*(?:thousands?|thou)\b", re.IGNORECASE), "k"),
                  (re.compile(r"(?<=\d)\s*(?:billions?|bn)\b", re.IGNORECASE), " ty"))


def read_money(text: str, maximum: int) -> int:
    """parse_money, also for donors who write English units: "2 million", "1.5m", "500 thousand"."""
    for pattern, unit in _ENGLISH_UNITS:
        text = pattern.sub(unit, text)
    return parse_money(text, maximum=maximum)


def is_anonymous(name: str | None) -> bool:
    return name is None or fold(name).strip(" .!") in ANONYMOUS_WORDS


@dataclass(frozen=True)
class PledgeMoney(Money):
    """An amount for one need, capped at what it still lacks; «tất cả» pledges all of that.

    The value keeps what was typed too ({"amount", "asked"}), so the router can say it was capped
    and offer the rest to another child.
    """

    kind: ClassVar[str] = "pledge_money"

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        cap = int(answers.get(CAP) or 0)
        if cap <= 0:
            raise ParseError(N_("Nhu cầu này vừa được cam kết đủ. Gõ /huy rồi /nhucau để chọn một nhu cầu khác."))
        if fold(text).strip(" .!") in ALL_WORDS:
            return {"amount": cap, "asked": cap}
        asked = read_money(text, self.maximum)
        return {"amount": min(asked, cap), "asked": asked}

    def hint(self) -> str:
        return N_("Hãy gõ số tiền, ví dụ: 500k, 1,5 triệu hoặc 1.500.000; hoặc «tất cả» để ủng hộ toàn bộ phần còn thiếu.")

    def display(self, value: Value, ctx: Context) -> str:
        return ctx.format_money(int(value["amount"]))


@dataclass(frozen=True)
class ReceivedMoney(Money):
    """What staff actually received: an amount, or «đủ» for exactly what was promised."""

    kind: ClassVar[str] = "received_money"

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        expected = answers.get(EXPECTED)
        if expected and fold(text).strip(" .!") in ALL_WORDS:
            return int(expected)
        return read_money(text, self.maximum)

    def hint(self) -> str:
        return N_("Hãy gõ số tiền đã nhận, ví dụ: 500k; hoặc «đủ» nếu nhận đúng số đã cam kết.")


_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{4}|\d{2}))?$")


@dataclass(frozen=True)
class Day(Field):
    """A recent day: «hôm nay», «hôm qua», 24/11 or 24/11/2026; not in the future, within a year."""

    kind: ClassVar[str] = "day"
    within_days: int = 366

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        if (named := named_day(text, ctx.today)) is not None:
            return named.isoformat()
        folded = fold(text).strip(" .!")
        match = _DAY_MONTH_YEAR.match(folded.removeprefix("ngay").strip())
        if match is None:
            raise ParseError(self.hint())
        day, month, year = int(match[1]), int(match[2]), match[3]
        full_year = ctx.today.year if year is None else (2000 + int(year) if len(year) == 2 else int(year))
        try:
            value = date(full_year, month, day)
        except ValueError:
            raise ParseError(N_("Ngày {text} không có thật. Hãy gõ theo thứ tự ngày/tháng/năm, ví dụ: 24/11/2026."), text=text[:20]) from None
        if year is None and value > ctx.today:
            value = value.replace(year=value.year - 1)
        if value > ctx.today:
            raise ParseError(N_("Ngày {text} nằm trong tương lai. Hãy gõ ngày đã nhận, ví dụ: hôm nay."), text=text[:20])
        if value < ctx.today - timedelta(days=self.within_days):
            raise ParseError(N_("Ngày {text} đã quá một năm. Hãy kiểm tra lại, ví dụ: 24/11/2026."), text=text[:20])
        return value.isoformat()

    def hint(self) -> str:
        return N_("Hãy gõ ngày, ví dụ: hôm nay, hôm qua hoặc 24/11/2026.")

    def display(self, value: Value, ctx: Context) -> str:
        return ctx.format_date(date.fromisoformat(str(value)))


@dataclass(frozen=True)
class Provinces(Field):
    """Several provinces typed with commas («lao cai, ha noi»), or «cả nước» for all of them."""

    kind: ClassVar[str] = "provinces"

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        if fold(text).strip(" .!") in WHOLE_COUNTRY_WORDS:
            return []
        codes: list[int] = []
        for part in (p.strip() for p in re.split(r"[,;\n]+", text)):
            if not part:
                continue
            found = places.search_provinces(part, limit=2)
            exact = [p for p in found if fold(part) in (fold(p.short), fold(p.name))]
            if not found or (len(found) > 1 and not exact):
                raise ParseError(N_("Không rõ tỉnh/thành «{text}». Hãy gõ tên đầy đủ hơn, ví dụ: lao cai, ha noi."), text=part[:40])
            code = (exact or found)[0].code
            if code not in codes:
                codes.append(code)
        if not codes:
            raise ParseError(self.hint())
        return codes

    def hint(self) -> str:
        return N_("Hãy gõ tên các tỉnh/thành, cách nhau bằng dấu phẩy (ví dụ: lao cai, ha noi), hoặc «cả nước».")

    def display(self, value: Value, ctx: Context) -> str:
        if not value:
            return ctx.t(N_("cả nước"))
        return ", ".join(places.province(int(c)).short for c in value)


def _money(a: dict[str, Any]) -> bool:
    return a.get("kind") == "money"


def _goods(a: dict[str, Any]) -> bool:
    return a.get("kind") == "goods" or not a.get(CAP)


SIGNUP_FORM = Form(
    id="donor_signup",
    title=N_("Đăng ký nhà hảo tâm"),
    steps=(
        Step("display_name", Text(max_len=60, needs_letters=True),
             prompt=N_("Tên bạn muốn ghi trên giấy cảm ơn (tên người hoặc tổ chức)? Gõ «ẩn danh» nếu không muốn nêu tên."),
             label=N_("Tên hiển thị"), personal=True),
        Step("language", Choice(choices=LANGUAGE_OPTIONS),
             prompt=N_("Bạn muốn đọc tin nhắn bằng ngôn ngữ nào? / Which language do you prefer?"),
             label=N_("Ngôn ngữ")),
    ),
)

PLEDGE_FORM = Form(
    id="pledge",
    title=N_("Cam kết ủng hộ"),
    steps=(
        Step("kind", Choice(choices=PLEDGE_KINDS),
             prompt=N_("Bạn muốn ủng hộ bằng tiền hay hiện vật?"), label=N_("Hình thức"),
             when=lambda a: bool(a.get(CAP))),
        Step("amount", PledgeMoney(),
             prompt=N_("Bạn muốn ủng hộ bao nhiêu? Ví dụ: 500k, 1,5 triệu, 1.500.000; hoặc «tất cả» để ủng hộ toàn bộ phần còn thiếu."),
             label=N_("Số tiền"), when=_money, then=Trigger(CAPPED, when=lambda v: v["asked"] > v["amount"])),
        Step("goods", Text(max_len=120),
             prompt=N_("Bạn muốn ủng hộ hiện vật gì? Ví dụ: vở và bút, áo ấm, gạo."),
             label=N_("Hiện vật"), when=_goods),
        Step("quantity", Number(minimum=1, maximum=100_000),
             prompt=N_("Số lượng bao nhiêu? Chỉ gõ số, ví dụ: 10."), label=N_("Số lượng"), when=_goods),
        Step("phone", Phone(),
             prompt=N_("Số điện thoại để cán bộ liên hệ (chỉ cán bộ thấy, không bắt buộc)? Gõ «bỏ qua» nếu không muốn."),
             label=N_("Điện thoại liên hệ"), optional=True, personal=True,
             when=lambda a: _goods(a) or (_money(a) and bool(a.get(ASK_PHONE)))),
        Step("message", Text(max_len=300),
             prompt=N_("Lời nhắn tới gia đình trẻ (không bắt buộc). Cán bộ sẽ đọc trước khi chuyển; đừng ghi số điện thoại hay địa chỉ. Gõ «bỏ qua» nếu không có."),
             label=N_("Lời nhắn"), optional=True, personal=True),
    ),
)

PROVINCES_FORM = Form(
    id="donor_provinces",
    title=N_("Tỉnh/thành quan tâm"),
    steps=(
        Step("provinces", Provinces(),
             prompt=N_("Bạn muốn nhận bản tin hằng tháng về nhu cầu mới ở tỉnh/thành nào? Gõ tên, cách nhau bằng dấu phẩy (ví dụ: lao cai, ha noi), hoặc «cả nước»."),
             label=N_("Tỉnh/thành")),
    ),
)

RECEIPT_FORM = Form(
    id="pledge_receipt",
    title=N_("Xác nhận đã nhận"),
    steps=(
        Step("amount", ReceivedMoney(),
             prompt=N_("Số tiền đã nhận? Gõ «đủ» nếu nhận đúng số đã cam kết, hoặc gõ số tiền, ví dụ: 500k."),
             label=N_("Số tiền đã nhận"), when=lambda a: a.get(PLEDGE_KIND) == "money"),
        Step("value", Money(),
             prompt=N_("Giá trị ước tính của hiện vật (để cộng vào số đã nhận)? Gõ «bỏ qua» nếu không rõ."),
             label=N_("Giá trị ước tính"), optional=True, when=lambda a: a.get(PLEDGE_KIND) == "goods"),
        Step("day", Day(), prompt=N_("Nhận ngày nào? Gõ «hôm nay», «hôm qua» hoặc ngày, ví dụ: 24/11/2026."),
             label=N_("Ngày nhận")),
    ),
)
