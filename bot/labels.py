"""Words for codes stored in the database (statuses, priority parts): message ids, one place."""

from __future__ import annotations

from bot.i18n import N_, _
from conversations.categories import ARTICLE_10_GROUPS, HOUSEHOLD_STATUSES, label_of

STATUS = {
    "new": N_("Chờ xem xét"),
    "verified": N_("Đã xác minh"),
    "in_support": N_("Đang hỗ trợ"),
    "supported": N_("Đã được hỗ trợ"),
    "closed": N_("Đã đóng"),
    "rejected": N_("Không tiếp nhận"),
    "duplicate": N_("Trùng hồ sơ khác"),
}

PRIORITY_LEVEL = {
    "very_high": N_("rất cao"),
    "high": N_("cao"),
    "medium": N_("trung bình"),
    "low": N_("thấp"),
}

PRIORITY_PART = {
    "danger": N_("đang gặp nguy hiểm"),
    "more_groups": N_("thuộc nhiều nhóm hoàn cảnh"),
    "young": N_("trẻ nhỏ"),
    "basic_needs": N_("thiếu nhu cầu thiết yếu (y tế, ăn, ở)"),
}


def status(code: str) -> str:
    return _(STATUS.get(code, code))


def priority_level(code: str) -> str:
    return _(PRIORITY_LEVEL.get(code, code))


def priority_part(code: str) -> str:
    """'group:l' -> the group's label; 'household:poor' -> 'Hộ nghèo'; else the table above."""
    kind, _sep, value = code.partition(":")
    if kind == "group":
        return _(label_of(ARTICLE_10_GROUPS, value))
    if kind == "household":
        return _(label_of(HOUSEHOLD_STATUSES, value))
    return _(PRIORITY_PART.get(code, code))
