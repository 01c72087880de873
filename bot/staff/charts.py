"""/bieudo: the /thongke figures as a PNG chart, sent as a photo.

matplotlib with the Agg backend (no display), drawn on a Figure object rather than pyplot's
global state, in a worker thread so the event loop keeps answering. DejaVu Sans ships with
matplotlib and has every Vietnamese letter, precomposed and with combining marks. Counts of 1 or
2 children are drawn as a hatched bar up to 3 and labelled "<3", as in the tables.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from bot import i18n, labels
from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.staff.common import words
from bot.staff.summaries import TITLES, key_name, ordered_rows, parse_request
from storage import summaries
from storage.cases import STATUSES

WIDTH, HEIGHT, DPI = 12, 7, 100  # 1200 x 700 pixels: readable on a phone, small to send
MAX_BARS = 25
FONT = "DejaVu Sans"
COLORS = {"children": "#4C72B0", "verified": "#DD8452", "supported": "#55A868", "target": "#C44E52"}
_render_lock = threading.Lock()  # matplotlib is not thread-safe: one drawing at a time


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int | float]
    color: str


def render(title: str, categories: Sequence[str], series: Sequence[Series], *, note: str = "",
           horizontal: bool = False, percent_axis: str | None = None, target: float | None = None,
           target_label: str = "", suppress_small: bool = True) -> bytes:
    """A grouped bar chart as PNG bytes, WIDTH x HEIGHT inches at DPI."""
    # Imported here: matplotlib (with numpy) costs a running bot ~0.3 s and ~30 MiB, for a chart few ask for.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    with _render_lock:
        figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        n = max(len(series), 1)
        width = 0.8 / n
        positions = range(len(categories))
        for i, s in enumerate(series):
            offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
            shown = [3 if suppress_small and summaries.small(int(v)) else v for v in s.values]
            hatches = ["//" if suppress_small and summaries.small(int(v)) else "" for v in s.values]
            draw = axes.barh if horizontal else axes.bar
            bars = draw(offsets, shown, width, label=s.name, color=s.color)
            for bar, hatch in zip(bars, hatches, strict=True):
                if hatch:
                    bar.set_hatch(hatch)
                    bar.set_alpha(0.6)
            texts = ["<3" if h else (i18n.percent(v) if percent_axis else i18n.number(v)) for v, h in zip(s.values, hatches, strict=True)]
            axes.bar_label(bars, labels=texts, padding=2, fontsize=8, family=FONT)
        if horizontal:
            axes.set_yticks(list(positions), categories, fontsize=9, family=FONT)
            axes.invert_yaxis()
        else:
            axes.set_xticks(list(positions), categories, fontsize=9, family=FONT, rotation=30 if len(categories) > 6 else 0, ha="right" if len(categories) > 6 else "center")
        if target is not None:
            line = axes.axvline if horizontal else axes.axhline
            line(target, color=COLORS["target"], linestyle="--", linewidth=1.5, label=target_label)
        if percent_axis:
            (axes.set_xlabel if horizontal else axes.set_ylabel)(percent_axis, family=FONT)
            (axes.set_xlim if horizontal else axes.set_ylim)(0, 1.1)
            (axes.xaxis if horizontal else axes.yaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.set_title(title, fontsize=13, family=FONT)
        if len(series) > 1 or target is not None:
            axes.legend(prop={"family": FONT, "size": 9}, loc="lower right" if horizontal else "upper left")
        axes.spines[["top", "right"]].set_visible(False)
        if note:  # a figure label: the layout keeps room for it below the tick labels
            figure.supxlabel(note, x=0.01, ha="left", fontsize=8, family=FONT, color="#555555")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


CHART_TYPES = {
    "trangthai": "status", "status": "status", "trang thai": "status",
    "baophu": "coverage", "coverage": "coverage", "bao phu": "coverage",
}


def menu() -> Reply:
    rows = (
        (Button(_("Theo trạng thái"), "m:bieudo:trangthai"), Button(_("Độ bao phủ theo tỉnh"), "m:bieudo:baophu")),
        (Button(_("Theo tỉnh/thành"), "m:bieudo:tinh"), Button(_("Theo nhóm hoàn cảnh"), "m:bieudo:nhom")),
        (Button(_("Theo tháng"), "m:bieudo:thang"),),
    )
    return Reply(_("Chọn loại biểu đồ (hoặc gõ, ví dụ: /bieudo tinh, /bieudo xa lao cai, /bieudo nhom, /bieudo thang, /bieudo baophu):"), buttons=rows)


async def _status_chart(ctx: Context) -> tuple[str, bytes]:
    overview = await summaries.overview(ctx.session, ctx.now, db=ctx.app.db)
    title = t(N_("Hồ sơ theo trạng thái · {org} · {day}"), org=ctx.settings.org_name, day=i18n.day(ctx.today))
    values = [overview.by_status.get(s, 0) for s in STATUSES]
    png = await asyncio.to_thread(render, title, [labels.status(s) for s in STATUSES], [Series(_("Hồ sơ"), values, COLORS["children"])],
                                  note=_("Ô dưới 3 trẻ ghi «<3»."))
    return title, png


async def _coverage_chart(ctx: Context) -> tuple[str, bytes]:
    result = await summaries.breakdown(ctx.session, "province", now=ctx.now)
    rows = [(k, c) for k, c in ordered_rows(result, parse_request(["tinh"])) if c.verified >= summaries.SMALL_CELL][:MAX_BARS]
    title = t(N_("Độ bao phủ: trẻ được hỗ trợ / trẻ đã xác minh · {day}"), day=i18n.day(ctx.today))
    target = ctx.settings.coverage_target
    png = await asyncio.to_thread(
        render, title, [key_name("province", k) for k, _c in rows], [Series(_("Độ bao phủ"), [c.coverage or 0 for _k, c in rows], COLORS["supported"])],
        horizontal=True, percent_axis=_("Tỉ lệ"), target=target, target_label=t(N_("Mục tiêu {target}"), target=i18n.percent(target)),
        suppress_small=False, note=_("Chỉ tỉnh có từ 3 trẻ đã xác minh."))
    return title, png


async def _breakdown_chart(ctx: Context, args: Sequence[str]) -> tuple[str, bytes] | Reply:
    request = parse_request(args)
    if request.error:
        return Reply(request.error)
    result = await summaries.breakdown(ctx.session, request.by, now=ctx.now, province_code=request.province_code)
    rows = ordered_rows(result, request)[:MAX_BARS]
    if not rows:
        return Reply(_("Chưa có hồ sơ nào để vẽ biểu đồ."))
    title = t(N_("Số trẻ {by}"), by=_(TITLES[request.by]))
    if request.province_code is not None:
        title += " · " + key_name("province", request.province_code)
    categories = [key_name(request.by, k) for k, _c in rows]
    series = [
        Series(_("Trẻ trong danh sách"), [c.children for _k, c in rows], COLORS["children"]),
        Series(_("Đã xác minh"), [c.verified for _k, c in rows], COLORS["verified"]),
        Series(_("Được hỗ trợ"), [c.supported for _k, c in rows], COLORS["supported"]),
    ]
    note = _("Ô dưới 3 trẻ ghi «<3».")
    if len(result.rows) > len(rows):
        note += " " + t(N_("Chỉ vẽ {n} mục lớn nhất."), n=len(rows))
    png = await asyncio.to_thread(render, title, categories, series, horizontal=request.by != "month", note=note)
    return title, png


@command("bieudo", "chart", roles={"staff"}, description=N_("Biểu đồ (ảnh PNG)"))
async def chart(ctx: Context) -> Replies:
    args = ctx.event.args
    if not args:
        return [menu()]
    kind = CHART_TYPES.get(words(args))
    if kind == "status":
        made = await _status_chart(ctx)
    elif kind == "coverage":
        made = await _coverage_chart(ctx)
    else:
        result = await _breakdown_chart(ctx, args)
        if isinstance(result, Reply):
            return [result]
        made = result
    title, png = made
    return [Reply(title, image=png)]
