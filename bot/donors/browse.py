"""/nhucau: published needs, highest priority first, five at a time, filtered by need, place, age.

Filters travel in the buttons ("m:nhucau:2:k.education:p.15:a.6-10", well under Telegram's 64
bytes) and can be typed: "/nhucau hoc tap", "/nhucau lao cai 6-10", "/nhucau 2" (page 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.context import Context
from bot.core import Button, Reply
from bot.donors import cards
from bot.forms import Replies
from bot.i18n import N_, _, t
from conversations.categories import NEEDS
from conversations.parsing import places
from conversations.parsing.text import fold, tokens
from storage import anonymise
from storage.anonymise import AGE_BANDS, DONOR_NEEDS, DonorCard

PAGE_SIZE = 5

# Folded words people type for each need, besides its label (Vietnamese and English).
NEED_WORDS: dict[str, tuple[str, ...]] = {
    "health": ("suc khoe", "y te", "kham benh", "chua benh", "thuoc", "vien phi", "health", "medical", "medicine"),
    "nutrition": ("dinh duong", "bua an", "an uong", "gao", "sua", "food", "meals", "meal", "nutrition"),
    "education": ("hoc tap", "hoc bong", "hoc phi", "di hoc", "hoc", "sach vo", "school", "education", "study", "scholarship"),
    "housing": ("nha o", "sua nha", "nha", "housing", "house", "home", "shelter"),
    "clothing": ("quan ao", "do dung", "ao am", "clothing", "clothes"),
    "play": ("vui choi", "giai tri", "do choi", "play", "toys"),
    "other": ("khac", "other"),
}
_BAND_RE = re.compile(r"\b(\d{1,2})\s*(?:-|–|den|to)\s*(\d{1,2})\b")
_AGE_RE = re.compile(r"\b(\d{1,2})\s*(?:tuoi|t|years?|yo)\b")
_FILLER = frozenset({"tinh", "thanh", "pho", "tp", "o", "tai", "in", "at", "tre", "be", "cho", "nhu", "cau", "can"})


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    province: int | None = None
    band: str | None = None

    def args(self) -> list[str]:
        out = []
        if self.kind:
            out.append(f"k.{self.kind}")
        if self.province:
            out.append(f"p.{self.province}")
        if self.band:
            out.append(f"a.{self.band}")
        return out

    def data(self, page: int | str) -> str:
        return ":".join(["m:nhucau", str(page), *self.args()])

    def __bool__(self) -> bool:
        return bool(self.kind or self.province or self.band)

    def describe(self) -> str:
        parts = []
        if self.kind:
            parts.append(cards.need_label(self.kind))
        if self.province:
            parts.append(places.province(self.province).short)
        if self.band:
            parts.append(cards.band_words(self.band))
        return " · ".join(parts)


class NotUnderstood(ValueError):
    pass


def band_of_text(folded: str) -> tuple[str | None, str]:
    """('6-10', text without it) from '6-10', '6 den 10' or '7 tuoi'."""
    match = _BAND_RE.search(folded)
    if match:
        band = f"{int(match[1])}-{int(match[2])}"
        if band not in AGE_BANDS:
            raise NotUnderstood(match[0])
        return band, (folded[: match.start()] + " " + folded[match.end():]).strip()
    match = _AGE_RE.search(folded)
    if match:
        band = anonymise.age_band(int(match[1]))
        if band is None or band == anonymise.UNKNOWN_BAND:
            raise NotUnderstood(match[0])
        return band, (folded[: match.start()] + " " + folded[match.end():]).strip()
    return None, folded


def kind_of_text(folded: str) -> tuple[str | None, str]:
    """The need named in the text (longest phrase wins), and the text without it."""
    padded = f" {folded} "
    best: tuple[int, str, str] | None = None
    for kind in DONOR_NEEDS:
        label = next(o.label for o in NEEDS if o.code == kind)
        phrases = {*NEED_WORDS.get(kind, ()), fold(label), fold(_(label))}
        phrases |= {p.replace(" ", "") for p in phrases}  # "hoctap" as well as "hoc tap"
        for phrase in phrases:
            if phrase and f" {phrase} " in padded and (best is None or len(phrase) > best[0]):
                best = (len(phrase), kind, phrase)
    if best is None:
        return None, folded
    return best[1], padded.replace(f" {best[2]} ", " ", 1).strip()


def parse_args(args: tuple[str, ...]) -> tuple[int, Filters, bool]:
    """(page, filters, wants the filter menu) from button or typed arguments."""
    page, filters, menu, words = 1, Filters(), False, []
    for arg in args:
        key, _sep, value = arg.partition(".")
        if arg == "loc":
            menu = True
        elif key == "k" and value in DONOR_NEEDS:
            filters = replace(filters, kind=value)
        elif key == "p" and value.isdigit() and int(value) in {p.code for p in places.all_provinces()}:
            filters = replace(filters, province=int(value))
        elif key == "a" and value in AGE_BANDS:
            filters = replace(filters, band=value)
        else:
            words.append(arg)
    if words:
        page, filters = parse_text(" ".join(words), filters)
    return page, filters, menu


def parse_text(text: str, filters: Filters) -> tuple[int, Filters]:
    """Typed words: an age band ("6-10", "7 tuổi"), a need, a province and a page number, in any order."""
    band, rest = band_of_text(fold(text).replace("–", "-"))
    words = tokens(rest)
    numbers = [w for w in words if w.isascii() and w.isdigit()]
    if len(numbers) > 1:
        raise NotUnderstood(" ".join(numbers))
    kind, rest = kind_of_text(" ".join(w for w in words if w not in numbers))
    rest = " ".join(w for w in rest.split() if w not in _FILLER)
    province = None
    if rest:
        found = places.search_provinces(rest, limit=1)
        if not found:
            raise NotUnderstood(rest)
        province = found[0].code
    page = max(1, int(numbers[0])) if numbers else 1
    return page, Filters(kind=kind or filters.kind, province=province or filters.province, band=band or filters.band)


async def page(ctx: Context, args: tuple[str, ...]) -> Replies:
    try:
        number, filters, menu = parse_args(args)
    except NotUnderstood as bad:
        text = t(N_("Chưa hiểu «{text}». Ví dụ: /nhucau hoc tap · /nhucau lao cai · /nhucau 6-10 · /nhucau hoc tap lao cai."), text=str(bad)[:40])
        return [Reply(text), await filter_menu(ctx, Filters())]
    if menu:
        return [await filter_menu(ctx, filters)]
    listed = await anonymise.listed(ctx.session, today=ctx.today, kind=filters.kind, province=filters.province, band=filters.band)
    if not listed:
        if filters:
            text = t(N_("Hiện không có nhu cầu nào khớp bộ lọc: {filters}."), filters=filters.describe())
            return [Reply(text, buttons=((Button(_("✖️ Bỏ lọc"), "m:nhucau:1"), Button(_("🔎 Lọc khác"), "m:nhucau:loc")),))]
        return [Reply(_("Hiện chưa có nhu cầu nào được đăng. Cảm ơn bạn đã quan tâm! Chúng tôi sẽ báo khi có (bật bản tin tháng trong /caidat)."))]
    pages = (len(listed) + PAGE_SIZE - 1) // PAGE_SIZE
    number = min(number, pages)
    chunk = listed[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    shown = await anonymise.cards(ctx.session, [item.case_id for item in chunk], ctx.today)
    return [render_page(ctx, shown, number, pages, len(listed), filters)]


def render_page(ctx: Context, shown: list[DonorCard], number: int, pages: int, total: int, filters: Filters) -> Reply:
    head = t(N_("💛 Trẻ em đang cần hỗ trợ: {total} trẻ · trang {page}/{pages}"), total=total, page=number, pages=pages)
    lines = [head]
    if filters:
        lines.append(t(N_("Bộ lọc: {filters}"), filters=filters.describe()))
    lines.append(cards.legend())
    for card in shown:
        lines += ["", cards.render(card, ctx.now)]
    lines += ["", _("Thông tin đã được ẩn danh để bảo vệ trẻ. Để giúp một trẻ, chọn «Ủng hộ» kèm mã của trẻ (bấm hoặc gõ số), hoặc gõ /ungho <mã>.")]
    rows: list[tuple[Button, ...]] = [(Button(t(N_("💛 Ủng hộ {code}"), code=cards.shown_code(c.code)), f"m:ungho:{c.code}"),) for c in shown]
    nav = []
    if number > 1:
        nav.append(Button(_("⬅️ Trang trước"), filters.data(number - 1)))
    if number < pages:
        nav.append(Button(_("Trang sau ➡️"), filters.data(number + 1)))
    if nav:
        rows.append(tuple(nav))
    tools = [Button(_("🔎 Lọc"), filters.data("loc"))]
    if filters:
        tools.append(Button(_("✖️ Bỏ lọc"), "m:nhucau:1"))
    rows.append(tuple(tools))
    return Reply("\n".join(lines), buttons=tuple(rows))


async def filter_menu(ctx: Context, current: Filters) -> Reply:
    """Buttons for each need, age band and province that has children listed."""
    rows: list[tuple[Button, ...]] = []
    kinds = [Button(f"{cards.NEED_ICONS.get(k, '')} {cards.need_label(k)}".strip(), replace(current, kind=k).data(1)) for k in DONOR_NEEDS]
    rows += [tuple(kinds[i : i + 2]) for i in range(0, len(kinds), 2)]
    rows.append(tuple(Button(cards.band_words(b), replace(current, band=b).data(1)) for b in AGE_BANDS))
    provinces = await anonymise.provinces_listed(ctx.session, ctx.today)
    buttons = [Button(f"{places.province(code).short} ({n})", replace(current, province=code).data(1)) for code, n in provinces]
    rows += [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]
    if current:
        rows.append((Button(_("✖️ Bỏ lọc"), "m:nhucau:1"),))
    text = _("Lọc theo nhu cầu, độ tuổi hoặc tỉnh/thành (có thể kết hợp). Hoặc gõ, ví dụ: /nhucau hoc tap lao cai 6-10")
    if current:
        text += "\n" + t(N_("Đang lọc: {filters}"), filters=current.describe())
    return Reply(text, buttons=tuple(rows))


async def another(ctx: Context, *, exclude_case: int | None, kind: str | None = None) -> tuple[int, DonorCard] | None:
    """The first listed child other than `exclude_case`, preferring the same need."""
    for wanted in (kind, None) if kind else (None,):
        for item in await anonymise.listed(ctx.session, today=ctx.today, kind=wanted):
            if item.case_id != exclude_case:
                found = await anonymise.cards(ctx.session, [item.case_id], ctx.today)
                if found:
                    return item.case_id, found[0]
    return None
