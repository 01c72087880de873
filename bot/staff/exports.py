"""/xuat: the cases of a period as an XLSX workbook (cases, needs, pledges, support delivered,
summary) and the cases as CSV, sent as documents.

`/xuat` includes the personal columns (staff only, written to the audit log); `/xuat andanh` is
the anonymised variant to pass on: no personal columns, no reporter, ages in bands. Times are
Vietnam time (Asia/Ho_Chi_Minh): Excel has no time zones, so the headers say so. The summary
sheet is computed from the exported rows, so it always adds up with them.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import defer
from sqlmodel import col, select

from bot import forms, i18n, labels
from bot.commands import command
from bot.context import Context
from bot.core import Reply
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.staff.common import consent_label, group_label, need_label, place_name, risk_label
from conversations.parsing import places
from conversations.parsing.days import days_ago
from conversations.parsing.errors import ParseError
from conversations.parsing.text import tokens
from conversations.report import REPORT_FORM
from conversations.staff_forms import parse_day
from storage import audit, summaries
from storage.models import Case, Need
from storage.pledges import Pledge
from storage.review import VERIFIED_STATUSES
from storage.support import SupportDelivery

MAX_ROWS = 50_000
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
DATE_FORMAT = "dd/mm/yyyy"
ANONYMOUS_WORDS = frozenset({"andanh", "an", "anonymous", "anon"})
AGE_BANDS = ((0, 5), (6, 10), (11, 15), (16, 17))


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None
    anonymous: bool = False

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        start = datetime.combine(self.start, time.min, tzinfo=i18n.VN_TZ) if self.start else None
        end = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=i18n.VN_TZ) if self.end else None
        return start, end


USAGE = N_("Gõ /xuat [andanh] [tu <ngày>] [den <ngày>], ví dụ: /xuat tu 1/1/2026 den 31/3/2026, hoặc /xuat andanh để bỏ các cột cá nhân.")


def parse_period(args: Sequence[str], today: date) -> Period | str:
    """'andanh', 'tu 1/1/2026', 'den 31/3/2026' in any order; a message id with the problem."""
    words = [w for a in args for w in ([a] if any(c.isdigit() for c in a) else tokens(a))]
    anonymous, start, end = False, None, None
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word in ANONYMOUS_WORDS or (word == "an" and i + 1 < len(words) and words[i + 1] == "danh"):
            anonymous = True
            i += 2 if word == "an" and i + 1 < len(words) and words[i + 1] == "danh" else 1
            continue
        if word in ("tu", "from", "den", "to") and i + 1 < len(words):
            # A day word may span words ("hôm nay", "ngày hôm qua"); "homnay" and "15/3/2026" are one.
            taken = next((n for n in (3, 2) if days_ago(" ".join(words[i + 1 : i + 1 + n])) is not None), 1)
            try:
                day = parse_day(" ".join(words[i + 1 : i + 1 + taken]), today)
            except ParseError as bad:
                return t(bad.message, **bad.params)
            if word in ("tu", "from"):
                start = day
            else:
                end = day
            i += 1 + taken
            continue
        return _(USAGE)
    if start and end and start > end:
        return _("Ngày bắt đầu («tu») phải trước ngày kết thúc («den»).")
    return Period(start, end, anonymous)


def age_band(age: int | None) -> str:
    if age is None:
        return ""
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}–{high}"
    return "16–17"


def ward_name(code: int | None) -> str:
    if code is None:
        return ""
    try:
        return places.ward(code).name
    except KeyError:
        return str(code)


def _local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(i18n.VN_TZ).replace(tzinfo=None) if moment else None


@dataclass
class Sheet:
    title: str
    header: list[str]
    rows: list[list[Any]]


def case_columns(ctx: Context, anonymous: bool) -> tuple[list[str], list[Any]]:
    """Headers, and the personal steps shown (none when anonymised)."""
    header = [_("Mã hồ sơ"), _("Ngày báo (giờ Việt Nam)"), _("Tỉnh/thành"), _("Xã/phường"), _("Giới tính")]
    header += [_("Nhóm tuổi")] if anonymous else [_("Năm sinh"), _("Tuổi khi báo")]
    header += [_("Hoàn cảnh"), _("Hộ gia đình"), _("Nguy hiểm ngay"), _("Điểm ưu tiên"), _("Mức nguy cơ"), _("Trạng thái"),
               _("Đồng ý chia sẻ ẩn danh"), _("Công bố lúc (giờ Việt Nam)"), _("Hạn can thiệp khẩn cấp (giờ Việt Nam)")]
    steps = [] if anonymous else [s for s in REPORT_FORM.steps if s.personal]
    header += [forms.step_label(s) for s in steps]
    return header, steps


def case_row(ctx: Context, case: Case, steps: list[Any], anonymous: bool) -> list[Any]:
    sex = {"male": _("Nam"), "female": _("Nữ")}.get(case.sex or "", _("Chưa rõ"))
    row: list[Any] = [case.code, _local(case.created_at), place_name(case.province_code), ward_name(case.commune_code), sex]
    row += [age_band(case.age_years)] if anonymous else [case.birth_year, case.age_years]
    household = labels.priority_part(f"household:{case.household}") if case.household else ""
    row += ["; ".join(group_label(g) for g in case.groups), household, _("Có") if case.danger else _("Không"), case.priority,
            risk_label(case.risk) if case.risk else "", labels.status(case.status), consent_label(case.donor_consent),
            _local(case.published_at), _local(case.respond_by)]
    if not steps:
        return row
    personal = case.personal or {}
    context = forms.field_context(ctx)
    for step in steps:
        value = personal.get(step.id)
        if value is None:
            row.append("")
            continue
        try:
            row.append(step.field.display(value, context))
        except (KeyError, ValueError, TypeError):
            row.append(str(value))
    return row


@dataclass(frozen=True)
class Loaded:
    cases: list[Case]
    needs: list[Need]
    deliveries: list[SupportDelivery]
    pledges: list[Pledge]


# A donor's contact, words and goods description are theirs, not the report's: never exported.
PLEDGE_PRIVATE = defer(Pledge.contact), defer(Pledge.message), defer(Pledge.goods)  # type: ignore[arg-type]
PLEDGE_STATUS = {"pending": N_("Chờ xác nhận"), "received": N_("Đã nhận"), "lapsed": N_("Không thực hiện")}
PLEDGE_KIND = {"money": N_("Tiền"), "goods": N_("Hiện vật")}


async def load(ctx: Context, period: Period) -> Loaded:
    start, end = period.bounds()
    where = []
    if start is not None:
        where.append(col(Case.created_at) >= start)
    if end is not None:
        where.append(col(Case.created_at) < end)
    statement = select(Case).where(*where).order_by(col(Case.created_at), col(Case.id))
    if period.anonymous:  # never decrypted for the anonymised file
        statement = statement.options(defer(Case.personal))  # type: ignore[arg-type]
    found = list(await ctx.session.exec(statement))
    ids = select(Case.id).where(*where)
    needs = list(await ctx.session.exec(select(Need).where(col(Need.case_id).in_(ids)).order_by(col(Need.case_id), col(Need.id))))
    deliveries = list(await ctx.session.exec(select(SupportDelivery).where(col(SupportDelivery.case_id).in_(ids)).order_by(col(SupportDelivery.case_id), col(SupportDelivery.id))))
    promised = list(await ctx.session.exec(select(Pledge).where(col(Pledge.case_id).in_(ids)).order_by(col(Pledge.case_id), col(Pledge.id)).options(*PLEDGE_PRIVATE)))
    return Loaded(found, needs, deliveries, promised)


def summary_sheet(ctx: Context, period: Period, found: list[Case], needs: list[Need], deliveries: list[SupportDelivery]) -> Sheet:
    by_status = Counter(c.status for c in found)
    verified = sum(by_status[s] for s in VERIFIED_STATUSES)
    supported = by_status[summaries.SUPPORTED]
    first = i18n.day(period.start) if period.start else _("đầu")
    last = i18n.day(period.end) if period.end else _("nay")
    rows: list[list[Any]] = [
        [_("Đơn vị"), ctx.settings.org_name],
        [_("Thời gian báo cáo"), t(N_("từ {start} đến {end}"), start=first, end=last)],
        [_("Lập lúc (giờ Việt Nam)"), _local(ctx.now)],
        [_("Bản"), _("ẩn danh") if period.anonymous else _("đầy đủ (có dữ liệu cá nhân: chỉ dành cho cán bộ)")],
        [_("Số hồ sơ"), len(found)],
    ]
    rows += [[t(N_("Trạng thái: {status}"), status=labels.status(s)), by_status.get(s, 0)] for s in labels.STATUS]
    rows += [
        [_("Trẻ trong danh sách (trừ trùng, không tiếp nhận)"), sum(n for s, n in by_status.items() if s not in summaries.NOT_COUNTED)],
        [_("Trẻ đã xác minh (đang mở)"), verified],
        [_("Trẻ được hỗ trợ"), supported],
        [_("Độ bao phủ"), round(supported / verified, 4) if verified else ""],
        [_("Mục tiêu độ bao phủ"), ctx.settings.coverage_target],
        [_("Số nhu cầu"), len(needs)],
        [_("Tổng số tiền ước tính (VND)"), sum(n.amount or 0 for n in needs)],
        [_("Đã cam kết (VND)"), sum(n.pledged for n in needs)],
        [_("Đã nhận (VND)"), sum(n.received for n in needs)],
        [_("Lần hỗ trợ đã trao"), len(deliveries)],
        [_("Giá trị hỗ trợ đã trao (VND)"), sum(d.value or 0 for d in deliveries)],
    ]
    return Sheet(_("Tổng hợp"), [_("Chỉ tiêu"), _("Giá trị")], rows)


def build(ctx: Context, period: Period, loaded: Loaded) -> tuple[list[Sheet], list[str], list[list[Any]]]:
    found, needs, deliveries = loaded.cases, loaded.needs, loaded.deliveries
    header, steps = case_columns(ctx, period.anonymous)
    case_rows = [case_row(ctx, c, steps, period.anonymous) for c in found]
    codes = {c.id: c.code for c in found}
    published = {c.id for c in found if c.published_at is not None}
    need_rows = [[codes.get(n.case_id, ""), need_label(n.kind), n.amount, n.pledged, n.received,
                  max((n.amount or 0) - n.pledged, 0) if n.amount is not None else None, n.status,
                  _("Có") if n.case_id in published else _("Không")] for n in needs]
    need_header = [_("Mã hồ sơ"), _("Nhu cầu"), _("Số tiền ước tính (VND)"), _("Đã cam kết (VND)"), _("Đã nhận (VND)"),
                   _("Còn thiếu (VND)"), _("Trạng thái nhu cầu"), _("Đang công bố")]
    delivery_header = [_("Mã hồ sơ"), _("Loại hỗ trợ"), _("Giá trị (VND)"), _("Ngày trao"), _("Ghi nhận lúc (giờ Việt Nam)")]
    if not period.anonymous:
        delivery_header.insert(2, _("Nội dung"))
    delivery_rows = []
    for d in deliveries:
        row: list[Any] = [codes.get(d.case_id, ""), need_label(d.kind), d.value, d.delivered_on, _local(d.recorded_at)]
        if not period.anonymous:
            row.insert(2, d.what or "")
        delivery_rows.append(row)
    kinds = {n.id: n.kind for n in needs}
    pledge_header = [_("Mã cam kết"), _("Mã hồ sơ"), _("Nhu cầu"), _("Loại"), _("Số tiền cam kết (VND)"), _("Số lượng"),
                     _("Trạng thái"), _("Số tiền đã nhận (VND)"), _("Ngày nhận"), _("Cam kết lúc (giờ Việt Nam)")]
    pledge_rows = [[p.ref, codes.get(p.case_id, ""), need_label(kinds.get(p.need_id, "")), _(PLEDGE_KIND.get(p.kind, p.kind)), p.amount,
                    p.quantity, _(PLEDGE_STATUS.get(p.status, p.status)), p.received_amount, p.received_on, _local(p.created_at)]
                   for p in loaded.pledges]
    sheets = [
        Sheet(_("Hồ sơ"), header, case_rows),
        Sheet(_("Nhu cầu và cam kết"), need_header, need_rows),
        Sheet(_("Các cam kết"), pledge_header, pledge_rows),
        Sheet(_("Hỗ trợ đã trao"), delivery_header, delivery_rows),
        summary_sheet(ctx, period, found, needs, deliveries),
    ]
    return sheets, header, case_rows


def workbook_bytes(sheets: list[Sheet]) -> bytes:
    """An XLSX file, written row by row (write-only mode keeps memory flat)."""
    # Imported here: openpyxl costs a running bot ~0.1 s and ~10 MiB, for an export few ask for.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title[:31])
        header = []
        for name in sheet.header:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            ws.append([_cell(ws, v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(ws: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    return value


def csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows Vietnamese letters; times with +07:00."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([(v.replace(tzinfo=i18n.VN_TZ).isoformat(timespec="minutes") if isinstance(v, datetime) else "" if v is None else v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


@command("xuat", "export", roles={"staff"}, description=N_("Xuất dữ liệu ra Excel (XLSX) và CSV"))
async def export(ctx: Context) -> Replies:
    period = parse_period(ctx.event.args, ctx.today)
    if isinstance(period, str):
        return [Reply(period)]
    start, end = period.bounds()
    count = select(func.count()).select_from(Case)
    if start is not None:
        count = count.where(col(Case.created_at) >= start)
    if end is not None:
        count = count.where(col(Case.created_at) < end)
    total = int((await ctx.session.exec(count)).one())
    if total == 0:
        return [Reply(_("Không có hồ sơ nào trong khoảng thời gian này."))]
    if total > MAX_ROWS:
        return [Reply(t(N_("Có {n} hồ sơ, quá {max} hồ sơ cho một lần xuất. Hãy chọn khoảng ngắn hơn, ví dụ: /xuat tu 1/1/2026 den 31/3/2026."), n=i18n.number(total), max=i18n.number(MAX_ROWS)))]
    loaded = await load(ctx, period)
    found, needs, deliveries = loaded.cases, loaded.needs, loaded.deliveries
    sheets, header, case_rows = build(ctx, period, loaded)
    xlsx = await asyncio.to_thread(workbook_bytes, sheets)
    stamp = ctx.today.isoformat()
    suffix = "-andanh" if period.anonymous else ""
    audit.record(ctx.session, "export", actor_id=ctx.person.id,
                 detail=f"{'anonymous' if period.anonymous else 'personal'} rows={len(found)} from={period.start} to={period.end}", now=ctx.now)
    note = _("Bản ẩn danh: không có cột cá nhân, tuổi theo nhóm.") if period.anonymous else _("⚠️ Bản đầy đủ có dữ liệu cá nhân của trẻ: chỉ lưu trên máy của cơ quan, không gửi tiếp. Bản để chia sẻ: /xuat andanh.")
    text = t(N_("📦 Đã xuất {n} hồ sơ, {needs} nhu cầu, {pledges} cam kết, {deliveries} lần hỗ trợ. Giờ ghi theo giờ Việt Nam."), n=i18n.number(len(found)), needs=i18n.number(len(needs)), pledges=i18n.number(len(loaded.pledges)), deliveries=i18n.number(len(deliveries)))
    return [
        Reply(f"{text}\n{note}", document=(f"chungtay{suffix}-{stamp}.xlsx", xlsx)),
        Reply(_("Danh sách hồ sơ dạng CSV (UTF-8):"), document=(f"chungtay-hoso{suffix}-{stamp}.csv", csv_bytes(header, case_rows))),
    ]
