"""Donor cards in words: the only place a child is described to a donor.

Input is a storage.anonymise.DonorCard (codes and numbers only); output is text in the reader's
language. A need is named by what helps, never by what happened.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_timedelta

from bot import i18n
from bot.i18n import N_, _, t
from conversations.categories import NEEDS, label_of
from conversations.parsing import places
from storage.anonymise import UNKNOWN_BAND, CardNeed, DonorCard

CODE_PREFIX = "TE-"  # "trẻ em": a donor-facing code reads TE-K7M3QD
BAR_CELLS = 10
NEED_ICONS = {
    "health": "🏥", "nutrition": "🍚", "education": "🎓", "housing": "🏠",
    "clothing": "👕", "play": "⚽", "other": "✳️",
}
SEX_WORDS = {"male": N_("Bé trai"), "female": N_("Bé gái"), "unknown": N_("Trẻ em")}


def shown_code(code: str) -> str:
    return CODE_PREFIX + code


def need_label(kind: str) -> str:
    return _(label_of(NEEDS, kind))


def band_words(band: str) -> str:
    if band == UNKNOWN_BAND:
        return _("chưa rõ tuổi")
    return t(N_("{band} tuổi"), band=band.replace("-", "–"))


def who(card: DonorCard) -> str:
    """'Bé gái, 6–10 tuổi'."""
    return f"{_(SEX_WORDS.get(card.sex, SEX_WORDS['unknown']))}, {band_words(card.age_band)}"


def place(card: DonorCard) -> str:
    """The province, with the commune only when the card carries one (k-anonymity decided it)."""
    province = places.province(card.province_code).short
    if card.commune_code is None:
        return province
    return f"{places.ward(card.commune_code).name}, {province}"


def progress_bar(need: CardNeed) -> str:
    """█ received, ▒ promised but not yet received, ░ still needed: ten cells."""
    if not need.amount:
        return ""
    received = min(BAR_CELLS, round(BAR_CELLS * need.received / need.amount))
    pledged = min(BAR_CELLS, round(BAR_CELLS * max(need.pledged, need.received) / need.amount))
    return "█" * received + "▒" * (pledged - received) + "░" * (BAR_CELLS - pledged)


def legend() -> str:
    return _("█ đã nhận · ▒ đã cam kết · ░ còn thiếu")


def since(published_at: datetime, now: datetime) -> str:
    """'đăng hôm nay', 'đăng 3 ngày trước'."""
    delta = now - published_at
    if delta < timedelta(days=1):
        return _("đăng hôm nay")
    ago = format_timedelta(-delta, granularity="day", add_direction=True, locale=i18n.babel_locale())
    return t(N_("đăng {ago}"), ago=ago)


def need_lines(need: CardNeed) -> list[str]:
    icon = NEED_ICONS.get(need.kind, "•")
    if need.amount is None:
        return [f"{icon} {need_label(need.kind)}: " + _("ủng hộ bằng hiện vật")]
    lines = [f"{icon} {need_label(need.kind)}: " + t(N_("cần {amount}"), amount=i18n.money(need.amount))]
    share = min(1.0, need.pledged / need.amount) if need.amount else 0.0
    detail = [i18n.percent(share)]
    if need.pledged:
        detail.append(t(N_("đã cam kết {amount}"), amount=i18n.money(need.pledged)))
    if need.received:
        detail.append(t(N_("đã nhận {amount}"), amount=i18n.money(need.received)))
    if not need.open and need.pledged >= need.amount:
        detail.append(_("✅ đủ"))
    elif not need.pledged:
        detail.append(_("chưa ai cam kết"))
    lines.append(f"   {progress_bar(need)} " + " · ".join(detail))
    return lines


def render(card: DonorCard, now: datetime) -> str:
    """One child's card, a few short lines (a page of five fits a Zalo message)."""
    lines = [f"🧒 {shown_code(card.code)} · {who(card)} · {place(card)}"]
    for need in card.needs:
        lines += need_lines(need)
    lines.append(since(card.published_at, now))
    return "\n".join(lines)


def one_line(card: DonorCard) -> str:
    """'TE-K7M3QD · Bé gái, 6–10 tuổi · Lào Cai · Học tập, học bổng' (digests, lists)."""
    needs = ", ".join(need_label(n.kind) for n in card.open_needs) or ", ".join(need_label(n.kind) for n in card.needs)
    return f"{shown_code(card.code)} · {who(card)} · {place(card)} · {needs}"


def remaining_words(need: CardNeed) -> str:
    if need.amount is None:
        return _("ủng hộ bằng hiện vật")
    return t(N_("còn thiếu {amount}"), amount=i18n.money(need.remaining or 0))
