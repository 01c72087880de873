"""What every staff command shares: finding a case from a typed code, words for codes, places,
long replies split for Telegram, and the guard that keeps one form open at a time."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from bot import forms, i18n, labels
from bot.context import Context
from bot.core import Button, Reply
from bot.i18n import N_, _, t
from conversations.categories import ARTICLE_10_GROUPS, NEEDS, label_of
from conversations.parsing import places
from conversations.parsing.text import fold, tokens
from storage import cases
from storage.models import Case, Person

V = TypeVar("V")

MAX_TEXT = 3900  # Telegram allows 4,096 characters; Zalo 2,000 (its adapter splits again)



def joined(table: dict[str, V]) -> dict[str, V]:
    """A keyword table that also knows each key as `words()` gives it and run together:
    "chua hoi" is also "chuahoi" (phone keyboards and hurried typing drop the space), and
    "not_asked" is also "not asked" and "notasked". Look typed words up with `keyword()`."""
    out = dict(table)
    for key, value in table.items():
        spaced = " ".join(tokens(key))
        out.setdefault(spaced, value)
        out.setdefault(spaced.replace(" ", ""), value)
    return out


def keyword(table: dict[str, V], args: Sequence[str]) -> V | None:
    """The value of a keyword typed after a command, with or without marks, capitals or spaces:
    «chưa hỏi», «CHƯA HỎI», «chuahoi», «chua hoi» (in a `joined` table)."""
    typed = words(args)
    found = table.get(typed)
    return found if found is not None else table.get(typed.replace(" ", ""))


RISK = {"high": N_("Cao"), "medium": N_("Trung bình"), "low": N_("Thấp")}
RISK_WORDS = joined({"cao": "high", "high": "high", "c": "high", "trung binh": "medium", "tb": "medium", "trung": "medium",
                     "medium": "medium", "thap": "low", "low": "low", "t": "low"})
CONSENT = {"yes": N_("Đã đồng ý"), "no": N_("Không đồng ý"), "not_asked": N_("Chưa hỏi")}
CONSENT_WORDS = joined({"co": "yes", "yes": "yes", "dong y": "yes", "da dong y": "yes", "khong": "no", "no": "no",
                        "ko": "no", "khong dong y": "no", "tu choi": "no", "chua hoi": "not_asked", "chua": "not_asked",
                        "not_asked": "not_asked"})

# Why a change was refused (storage.review.NotAllowed reasons), in words.
NOT_ALLOWED = {
    "incomplete": N_("Người báo chưa điền xong báo cáo này (mới có báo động khẩn cấp). Hãy đợi báo cáo đầy đủ, hoặc ghi nhận can thiệp khẩn cấp trước."),
    "same_case": N_("Một hồ sơ không thể trùng với chính nó."),
    "original_not_valid": N_("Hồ sơ gốc đã bị đánh dấu trùng hoặc không tiếp nhận; hãy chọn hồ sơ gốc khác."),
    "not_emergency": N_("Hồ sơ này không được báo là khẩn cấp."),
    "already_handled": N_("Can thiệp khẩn cấp của hồ sơ này đã được ghi nhận rồi."),
    "no_consent": N_("Chưa thể công bố: chưa có sự đồng ý của người đại diện hợp pháp (và của trẻ từ 7 tuổi). Ghi nhận sự đồng ý trước: /dongy <mã> co."),
    "no_needs": N_("Hồ sơ chưa có nhu cầu nào để công bố."),
    "already_published": N_("Nhu cầu của hồ sơ này đã được công bố rồi."),
    "not_published": N_("Nhu cầu của hồ sơ này chưa được công bố."),
    "no_reporter": N_("Hồ sơ này không có người báo qua bot để hỏi."),
    "already_answered": N_("Câu hỏi này đã được trả lời rồi."),
}
STATUS_NOT_ALLOWED = N_("Không làm được việc này khi hồ sơ đang ở trạng thái «{status}».")


def not_allowed(reason: str, case: Case | None = None) -> Reply:
    if reason.startswith("status:"):
        status = reason.split(":", 1)[1].split("->")[0]
        return Reply(t(STATUS_NOT_ALLOWED, status=labels.status(status)))
    return Reply(_(NOT_ALLOWED.get(reason, N_("Không làm được việc này với hồ sơ ở trạng thái hiện tại."))))


def risk_label(code: str | None) -> str:
    return _(RISK[code]) if code in RISK else _("chưa đánh giá")


def consent_label(code: str) -> str:
    return _(CONSENT.get(code, code))


def need_label(code: str) -> str:
    return _(label_of(NEEDS, code))


def group_label(code: str) -> str:
    return _(label_of(ARTICLE_10_GROUPS, code)) if code != "none" else _("Chưa rõ hoàn cảnh")


def groups_text(groups: Iterable[str]) -> str:
    return "; ".join(group_label(g) for g in groups) or _("chưa rõ")


def place_name(province_code: int, commune_code: int | None = None, short: bool = False) -> str:
    try:
        province = places.province(province_code)
    except KeyError:
        return str(province_code)
    if commune_code is None:
        return province.short if short else province.name
    try:
        ward = places.ward(commune_code)
    except KeyError:
        return province.short
    return f"{ward.short}, {province.short}" if short else f"{ward.name}, {province.name}"


def commune_name(commune_code: int | None) -> str:
    if commune_code is None:
        return _("Chưa rõ xã")
    try:
        ward = places.ward(commune_code)
    except KeyError:
        return str(commune_code)
    return f"{ward.name} ({places.province(ward.province_code).short})"


def case_place(case: Case | Any, short: bool = True) -> str:
    """Where a case is; anything with province_code and commune_code will do."""
    return place_name(case.province_code, case.commune_code, short=short)


def local_day(moment: datetime) -> str:
    return i18n.day(moment.astimezone(i18n.VN_TZ).date())


def who(person: Person | None) -> str:
    """How staff see a colleague or a collaborator: display name, else the channel id."""
    if person is None:
        return _("(hệ thống)")
    return person.display_name or f"{person.channel}:{person.external_id}"


_SHORT_CODE = re.compile(r"([A-Z]{2,4})-?(\d{4})-?(\d{1,6})")


def normalise_code(text: str) -> str:
    """'lca-2026-123', 'LCA2026000123' -> 'LCA-2026-000123': typed on a phone, codes get shortened."""
    code = text.strip().upper()
    match = _SHORT_CODE.fullmatch(code)
    return f"{match[1]}-{match[2]}-{int(match[3]):06d}" if match else code


async def find_case(ctx: Context, usage: str) -> Case | Reply:
    """The case named by the first argument, or a reply saying what to type."""
    if not ctx.event.args:
        return Reply(usage)
    case = await cases.by_code(ctx.session, normalise_code(ctx.event.args[0]))
    if case is None:
        return Reply(t(N_("Không tìm thấy hồ sơ «{code}». Mã có dạng LCA-2026-000123; xem danh sách chờ duyệt: /choduyet."), code=ctx.event.args[0][:30]))
    return case


def form_open(ctx: Context) -> Reply | None:
    """For commands that open a form in some branches only (the others declare works_in_form)."""
    state = forms.open_state(ctx)
    return None if state is None else forms.busy(state)


def open_case_button(case: Case, label: str | None = None) -> Button:
    return Button(label or t(N_("📁 Mở hồ sơ {code}"), code=case.code), f"m:hoso:{case.code}")


def split(lines: Sequence[str], buttons: tuple[tuple[Button, ...], ...] = ()) -> list[Reply]:
    """Lines as one or more replies under the channel's length limit; buttons on the last."""
    replies: list[Reply] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = line[:MAX_TEXT]
        if chunk and size + len(line) + 1 > MAX_TEXT:
            replies.append(Reply("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    replies.append(Reply("\n".join(chunk), buttons=buttons))
    return replies


def words(args: Sequence[str]) -> str:
    """Command arguments folded for matching: '/thongke Xã' -> 'xa'."""
    return " ".join(tokens(" ".join(args)))


def find_communes(text: str, limit: int = 8) -> list[places.Place]:
    """Communes/wards matching typed text anywhere in Vietnam; 'xã, tỉnh' narrows to a province.
    Exact names first; a commune code works too."""
    text = text.strip()
    if text.isdigit():
        try:
            return [places.ward(int(text))]
        except KeyError:
            return []
    commune, _sep, province = text.partition(",")
    provinces = places.search_provinces(province, limit=1) if province.strip() else places.all_provinces()
    found: list[places.Place] = []
    for p in provinces:
        found += places.search_wards(p.code, commune, limit=limit)
    wanted = fold(commune)
    exact = [w for w in found if fold(w.short) == wanted or fold(w.name) == wanted]
    return (exact or found)[:limit]


def find_province(text: str) -> places.Place | None:
    """A province named by typed text (or its code) when the match is clear."""
    if text.strip().isdigit():
        try:
            return places.province(int(text))
        except KeyError:
            return None
    found = places.search_provinces(text, limit=3)
    if not found:
        return None
    wanted = fold(text)
    exact = [p for p in found if wanted in (fold(p.short), fold(p.name))]
    if exact:
        return exact[0]
    return found[0] if len(found) == 1 else None
