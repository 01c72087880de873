"""/tomtat (the figures on one screen) and /thongke (breakdowns by place, group and month).

The figures come from storage.summaries, one definition each. In breakdowns, a cell of 1 or 2
children is shown as "<3": a table that is forwarded must not point at one child in a commune.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot import i18n, labels
from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.staff.common import (
    commune_name,
    find_communes,
    find_province,
    group_label,
    joined,
    place_name,
    risk_label,
    split,
    words,
)
from storage import summaries
from storage.cases import STATUSES
from storage.review import RISKS
from storage.summaries import Breakdown, Cells, Dimension

TOP_ROWS = 30  # a nationwide list of communes shows the largest; the rest go in one line


def cell(n: int) -> str:
    return "<3" if summaries.small(n) else i18n.number(n)


def share(cells: Cells) -> str:
    """Coverage of a row, only when the row is not small (a percentage of 2 gives it away)."""
    if cells.verified < summaries.SMALL_CELL or cells.coverage is None:
        return "—"
    return i18n.percent(cells.coverage)


def row_text(name: str, cells: Cells) -> str:
    return t(N_("{name}: {children} trẻ · {verified} đã xác minh · {supported} được hỗ trợ ({coverage})"),
             name=name, children=cell(cells.children), verified=cell(cells.verified), supported=cell(cells.supported), coverage=share(cells))


def coverage_lines(ctx: Context, overview: summaries.Overview) -> list[str]:
    target = ctx.settings.coverage_target
    if overview.coverage is None:
        return [t(N_("Độ bao phủ: chưa có trẻ nào được xác minh (mục tiêu {target})."), target=i18n.percent(target))]
    line = t(N_("Độ bao phủ: {supported}/{verified} trẻ đã xác minh được hỗ trợ = {coverage} (mục tiêu {target})"),
             supported=i18n.number(overview.supported), verified=i18n.number(overview.verified),
             coverage=i18n.percent(overview.coverage), target=i18n.percent(target))
    missing = math.ceil(round(target * overview.verified, 6)) - overview.supported
    if missing > 0:
        line += " " + t(N_("⚠️ còn thiếu {n} trẻ để đạt mục tiêu."), n=i18n.number(missing))
    else:
        line += " ✅"
    return [line]


@command("tomtat", "summary", roles={"staff"}, description=N_("Tóm tắt số liệu"))
async def summary(ctx: Context) -> Replies:
    overview = await summaries.overview(ctx.session, ctx.now, db=ctx.app.db)
    statuses = " · ".join(f"{labels.status(s)} {i18n.number(overview.by_status.get(s, 0))}" for s in STATUSES)
    risks = " · ".join(f"{risk_label(r)} {i18n.number(overview.by_risk.get(r, 0))}" for r in (*RISKS, summaries.NO_RISK))
    lines = [
        t(N_("📊 Tóm tắt · {org} · lúc {at}"), org=ctx.settings.org_name, at=i18n.moment(ctx.now)),
        t(N_("Hồ sơ: {total} (trong danh sách trẻ: {on_list})"), total=i18n.number(overview.total), on_list=i18n.number(overview.on_list)),
        t(N_("Theo trạng thái: {statuses}"), statuses=statuses),
        t(N_("Theo mức nguy cơ (hồ sơ đang mở): {risks}"), risks=risks),
        t(N_("Báo cáo mới: tuần này {week} · tháng này {month}"), week=i18n.number(overview.new_week), month=i18n.number(overview.new_month)),
        t(N_("Quá hạn: {emergency} khẩn cấp (12 giờ) · {plan} chưa có kế hoạch hỗ trợ (5 ngày làm việc)"),
          emergency=i18n.number(overview.overdue_emergency), plan=i18n.number(overview.overdue_plan)),
        *coverage_lines(ctx, overview),
        t(N_("Nhu cầu đang công bố: {published} · đã đủ kinh phí: {funded}"), published=i18n.number(overview.needs_published), funded=i18n.number(overview.needs_funded)),
        t(N_("Tiền nhà hảo tâm: đã cam kết {pledged} · đã nhận {received}"), pledged=i18n.money(overview.pledged), received=i18n.money(overview.received)),
    ]
    buttons: list[tuple[Button, ...]] = []
    if overview.overdue_emergency or overview.overdue_plan:
        buttons.append((Button(_("⏰ Xem việc quá hạn"), "m:quahan"),))
    buttons.append((Button(_("📈 Thống kê theo tỉnh"), "m:thongke:tinh"), Button(_("📊 Biểu đồ"), "m:bieudo")))
    return [Reply("\n".join(lines), buttons=tuple(buttons))]


# ---- /thongke -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a /thongke or /bieudo argument asks for."""

    by: Dimension
    province_code: int | None = None
    communes: tuple[int, ...] = ()  # "xã <tên>" naming communes rather than a province
    error: str | None = None


KEYWORDS: dict[str, Dimension] = joined({
    "tinh": "province", "province": "province", "tinh thanh": "province",
    "xa": "commune", "commune": "commune", "xa phuong": "commune", "phuong": "commune",
    "nhom": "group", "group": "group", "hoan canh": "group", "dieu 10": "group",
    "thang": "month", "month": "month",
})  # also run together: "hoancanh", "xaphuong"


def parse_request(args: Sequence[str], default: Dimension = "province") -> Request:
    """'tinh' | 'xa [tên tỉnh hoặc xã]' | 'nhom [tỉnh]' | 'thang [tỉnh]' | '<tên tỉnh>'."""
    text = words(args)
    if not text:
        return Request(default)
    head, _sep, rest = text.partition(" ")
    by = KEYWORDS.get(head)
    if by is None:
        two = " ".join(text.split()[:2])
        by = KEYWORDS.get(two)
        rest = " ".join(text.split()[2:]) if by else text
    if by is None:  # "/thongke lao cai": the communes of that province
        province = find_province(text)
        if province is None:
            return Request(default, error=t(N_("Không hiểu «{text}». Gõ: /thongke tinh, /thongke xa <tỉnh hoặc xã>, /thongke nhom hoặc /thongke thang."), text=" ".join(args)[:40]))
        return Request("commune", province.code)
    if not rest:
        return Request(by)
    province = find_province(rest)
    if province is not None:
        return Request(by, province.code)
    if by == "commune":
        communes = find_communes(rest)
        if communes:
            return Request(by, communes=tuple(c.code for c in communes))
        return Request(by, error=t(N_("Không tìm thấy tỉnh hay xã «{text}»."), text=rest[:40]))
    return Request(by, error=t(N_("Không tìm thấy tỉnh «{text}»."), text=rest[:40]))


def key_name(by: Dimension, key: object) -> str:
    if by == "province":
        return place_name(int(key)) if key is not None else _("Chưa rõ")  # type: ignore[call-overload]
    if by == "commune":
        return commune_name(key if key is None else int(key))  # type: ignore[call-overload]
    if by == "group":
        return group_label(str(key))
    year, month = str(key).split("-")
    return t(N_("Tháng {month}/{year}"), month=int(month), year=year)


def ordered_rows(result: Breakdown, request: Request) -> list[tuple[object, Cells]]:
    rows = list(result.rows.items())
    if request.communes:
        rows = [(k, result.rows.get(k, Cells())) for k in request.communes]
    if result.by in ("province", "commune", "group"):
        rows.sort(key=lambda kv: (-kv[1].children, str(kv[0])))
    return rows


TITLES: dict[Dimension, str] = {
    "province": N_("theo tỉnh/thành"),
    "commune": N_("theo xã/phường"),
    "group": N_("theo nhóm hoàn cảnh (Điều 10 Luật Trẻ em)"),
    "month": N_("theo tháng báo cáo (12 tháng gần nhất)"),
}


@command("thongke", "stats", roles={"staff"}, description=N_("Thống kê theo tỉnh, xã, nhóm hoàn cảnh, tháng"))
async def stats(ctx: Context) -> Replies:
    request = parse_request(ctx.event.args)
    if request.error:
        return [Reply(request.error)]
    result = await summaries.breakdown(ctx.session, request.by, now=ctx.now, province_code=request.province_code)
    title = t(N_("📈 Thống kê {by}"), by=_(TITLES[request.by]))
    if request.province_code is not None:
        title += " · " + key_name("province", request.province_code)
    lines = [title, _("Trẻ: trong danh sách (trừ hồ sơ trùng, không tiếp nhận). Ô dưới 3 trẻ ghi «<3».")]
    rows = ordered_rows(result, request)
    shown = rows if request.by in ("month", "group") or request.communes else rows[:TOP_ROWS]
    lines += [row_text(key_name(request.by, k), c) for k, c in shown]
    rest = rows[len(shown):]
    if rest:
        others = Cells(sum(c.children for _k, c in rest), sum(c.verified for _k, c in rest), sum(c.supported for _k, c in rest))
        lines.append(row_text(t(N_("{n} nơi khác"), n=len(rest)), others))
    if request.by == "group":
        lines.append(_("Một trẻ có thể thuộc nhiều nhóm nên tổng các nhóm có thể lớn hơn tổng số trẻ."))
    if not request.communes:
        lines.append(row_text(_("Tổng"), result.total))
    if not rows:
        lines.append(_("Chưa có hồ sơ nào."))
    chart = {"province": "tinh", "commune": "xa", "group": "nhom", "month": "thang"}[request.by]
    suffix = f":{request.province_code}" if request.province_code else ""
    return split(lines, buttons=((Button(_("📊 Xem biểu đồ"), f"m:bieudo:{chart}{suffix}"),),))
