"""The review queue (/choduyet) and the case file (/hoso): what staff read before acting.

Reading a case file shows the child's personal data, so every /hoso writes "read_personal" to
the audit log. Lists (the queue, overdue items) show codes, places and circumstances only.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import forms, i18n, labels
from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.roles.linking import channel_name
from bot.staff.common import (
    case_place,
    consent_label,
    find_case,
    groups_text,
    local_day,
    need_label,
    risk_label,
    split,
    who,
)
from conversations.report import REPORT_FORM
from storage import audit, cases, review, support
from storage.deadlines import is_overdue
from storage.models import Case, Person
from storage.priority import LEVELS
from storage.review import ADJUST_PART, CaseTrack

PAGE = 5
log = logging.getLogger(__name__)

HOSO_USAGE = N_("Gõ /hoso kèm mã hồ sơ, ví dụ: /hoso LCA-2026-000123.")
ANH_USAGE = N_("Gõ /anh kèm mã hồ sơ, ví dụ: /anh LCA-2026-000123.")


def priority_text(case: Case) -> str:
    """'45/100 (trung bình): Mồ côi cả cha và mẹ +20, …, điều chỉnh của cán bộ +10'."""
    level = next(name for floor, name in LEVELS if case.priority >= floor)
    parts = []
    for code, points in case.priority_parts:
        word = _("điều chỉnh của cán bộ") if code == ADJUST_PART else labels.priority_part(str(code))
        parts.append(f"{word} {int(points):+d}")
    text = t(N_("{score}/100 ({level})"), score=case.priority, level=labels.priority_level(level))
    return text + (": " + ", ".join(parts) if parts else "")


def time_left(deadline: datetime, now: datetime) -> str:
    """'còn 3 giờ' / 'QUÁ HẠN 2 ngày' — what a deadline means right now."""
    late = is_overdue(deadline, now)
    minutes = int(abs((deadline - now).total_seconds()) // 60)
    if minutes < 60:
        span = t(N_("{n} phút"), n=minutes)
    elif minutes < 48 * 60:
        span = t(N_("{n} giờ"), n=minutes // 60)
    else:
        span = t(N_("{n} ngày"), n=minutes // (24 * 60))
    return t(N_("QUÁ HẠN {span}"), span=span) if late else t(N_("còn {span}"), span=span)


def queue_line(case: Case, now: datetime) -> str:
    flag = "🚨 " if case.danger else ""
    age = t(N_("{n} tuổi"), n=case.age_years) if case.age_years is not None else _("chưa rõ tuổi")
    line = f"{flag}{case.code} · {case.priority}/100 · {case_place(case)} · {age} · {groups_text(case.groups)}"
    line += " · " + t(N_("báo ngày {day}"), day=local_day(case.created_at))
    if case.danger and case.respond_by is not None:
        line += " · " + time_left(case.respond_by, now)
    if not case.complete:
        line += " · " + _("chưa điền xong")
    return line


@command("choduyet", "review", roles={"staff"}, description=N_("Hồ sơ chờ duyệt, ưu tiên cao trước"))
async def review_queue(ctx: Context) -> Replies:
    """New, unverified cases, children in danger first, then by priority; five per page."""
    page = 1
    if ctx.event.args and ctx.event.args[0].isdigit():
        page = max(1, int(ctx.event.args[0]))
    found, total = await review.queue(ctx.session, offset=(page - 1) * PAGE, limit=PAGE)
    if total == 0:
        return [Reply(_("Không có hồ sơ nào chờ duyệt. 👍"))]
    pages = (total + PAGE - 1) // PAGE
    if not found:
        page = pages
        found, total = await review.queue(ctx.session, offset=(page - 1) * PAGE, limit=PAGE)
    lines = [t(N_("📥 Hồ sơ chờ duyệt: {total} (trang {page}/{pages}). Mở một hồ sơ để xem và xử lý: bấm mã hồ sơ, hoặc gõ /hoso <mã>."), total=total, page=page, pages=pages)]
    # Numbered 1..k on every page, like the buttons: a typed "2" opens the second case of *this*
    # page (the router maps it to the second option), so the text must say "2." for that case.
    lines += [f"{i}. {queue_line(c, ctx.now)}" for i, c in enumerate(found, start=1)]
    rows: list[tuple[Button, ...]] = [(Button(("🚨 " if c.danger else "📁 ") + c.code, f"m:hoso:{c.code}"),) for c in found]
    nav = []
    if page > 1:
        nav.append(Button(_("⬅️ Trang trước"), f"m:choduyet:{page - 1}"))
    if page < pages:
        nav.append(Button(_("Trang sau ➡️"), f"m:choduyet:{page + 1}"))
    if nav:
        rows.append(tuple(nav))
    return [Reply("\n".join(lines), buttons=tuple(rows))]


# ---- the case file -------------------------------------------------------------------------


async def _needs_lines(ctx: Context, case: Case) -> list[str]:
    assert case.id is not None
    lines = []
    for need in await cases.needs_of(ctx.session, case.id):
        amount = i18n.money(need.amount) if need.amount is not None else _("chưa ước tính")
        line = f"• {need_label(need.kind)}: {amount}"
        if need.pledged or need.received:
            line += " · " + t(N_("đã cam kết {pledged}, đã nhận {received}"), pledged=i18n.money(need.pledged), received=i18n.money(need.received))
        lines.append(line)
    return lines


def _personal_lines(ctx: Context, case: Case) -> list[str]:
    """The personal answers, labelled as the report form asked them."""
    personal = case.personal or {}
    context = forms.field_context(ctx)
    lines = []
    for step in REPORT_FORM.steps:
        if not step.personal or step.id not in personal:
            continue
        try:
            shown = step.field.display(personal[step.id], context)
        except (KeyError, ValueError, TypeError):
            shown = str(personal[step.id])
        lines.append(f"{forms.step_label(step)}: {shown}")
    return lines


def _deadline_lines(case: Case, track: CaseTrack | None, now: datetime) -> list[str]:
    lines = []
    handled = track is not None and track.handled_at is not None
    if case.danger and case.respond_by is not None:
        if handled and track is not None and track.handled_at is not None:
            lines.append(t(N_("🚨 Khẩn cấp: đã xử lý lúc {at} (hạn {deadline})."), at=i18n.moment(track.handled_at), deadline=i18n.moment(case.respond_by)))
        elif case.status == "new":
            lines.append(t(N_("🚨 Khẩn cấp: phải can thiệp trước {deadline} ({left})."), deadline=i18n.moment(case.respond_by), left=time_left(case.respond_by, now)))
    if track is not None and track.plan_due is not None:
        if track.plan_at is not None:
            lines.append(t(N_("Kế hoạch hỗ trợ: đã lập lúc {at}."), at=i18n.moment(track.plan_at)))
        elif case.status == "verified":
            lines.append(t(N_("Kế hoạch hỗ trợ: hạn {deadline} ({left}), 5 ngày làm việc từ khi xác minh."), deadline=i18n.moment(track.plan_due), left=time_left(track.plan_due, now)))
    return lines


def case_buttons(case: Case, track: CaseTrack | None) -> tuple[tuple[Button, ...], ...]:
    """What can be done with the case now, as buttons; typed commands do the same."""
    code = case.code
    rows: list[tuple[Button, ...]] = []
    status = case.status
    if status == "new":
        rows.append((Button(_("✅ Xác minh"), f"m:xacminh:{code}"), Button(_("⛔ Không tiếp nhận"), f"m:tuchoi:{code}")))
        rows.append((Button(_("🔁 Trùng hồ sơ khác"), f"m:trung:{code}"), Button(_("❓ Hỏi người báo"), f"m:hoi:{code}")))
    if case.danger and status in review.ACTIVE_STATUSES and (track is None or track.handled_at is None):
        rows.append((Button(_("🚨 Ghi nhận đã can thiệp khẩn cấp"), f"m:canthiep:{code}"),))
    if status == "verified":
        rows.append((Button(_("📝 Lập kế hoạch hỗ trợ"), f"m:kehoach:{code}"), Button(_("🎁 Ghi nhận hỗ trợ"), f"m:hotro:{code}")))
    if status in ("in_support", "supported"):
        rows.append((Button(_("🎁 Ghi nhận hỗ trợ"), f"m:hotro:{code}"),))
    if status in review.VERIFIED_STATUSES:
        if case.published_at is None:
            rows.append((Button(_("📢 Công bố nhu cầu cho nhà hảo tâm"), f"m:congbo:{code}"),))
        else:
            rows.append((Button(_("🙈 Ngừng công bố"), f"m:congbo:{code}:an"),))
        rows.append((Button(_("❓ Hỏi người báo"), f"m:hoi:{code}"), Button(_("🔁 Trùng hồ sơ khác"), f"m:trung:{code}")))
    if status in review.ACTIVE_STATUSES:
        rows.append(tuple(Button(t(N_("Nguy cơ: {level}"), level=risk_label(r)), f"m:nguyco:{code}:{r}") for r in review.RISKS))
        rows.append((Button(_("⚖️ Điều chỉnh ưu tiên"), f"m:uutien:{code}"), Button(_("🤝 Sự đồng ý"), f"m:dongy:{code}")))
    if status in review.VERIFIED_STATUSES:
        rows.append((Button(_("🔒 Đóng hồ sơ"), f"m:dong:{code}"),))
    last = [Button(_("📜 Nhật ký"), f"m:nhatky:{code}")]
    if case.personal is not None:
        last.append(Button(_("🗑 Xóa dữ liệu cá nhân"), f"m:xoa:{code}"))
    rows.append(tuple(last))
    return tuple(rows)


async def case_file(ctx: Context, case: Case) -> Replies:
    """The whole file of one case, for staff. Writes the read to the audit log."""
    assert case.id is not None
    track = await review.track_of(ctx.session, case.id)
    reporter = await ctx.session.get(Person, case.reporter_id) if case.reporter_id else None
    lines = [t(N_("📁 Hồ sơ {code} · {status}"), code=case.code, status=labels.status(case.status))]
    if not case.complete:
        lines.append(_("⚠️ Người báo chưa điền xong báo cáo (mới có báo động khẩn cấp)."))
    lines += _deadline_lines(case, track, ctx.now)
    if case.personal is None:
        lines.append(_("🗑 Dữ liệu cá nhân của hồ sơ này đã bị xóa theo yêu cầu; chỉ còn số liệu ẩn danh."))
    else:
        lines += _personal_lines(ctx, case)
    sex = {"male": _("Nam"), "female": _("Nữ")}.get(case.sex or "", _("chưa rõ"))
    age = t(N_("{n} tuổi"), n=case.age_years) if case.age_years is not None else _("chưa rõ")
    birth = f" · {case.birth_year}" if case.birth_year else ""
    lines.append(t(N_("Giới tính: {sex} · Tuổi khi báo: {age}{birth}"), sex=sex, age=age, birth=birth))
    lines.append(t(N_("Nơi: {place}"), place=case_place(case, short=False)))
    lines.append(t(N_("Hoàn cảnh: {groups}"), groups=groups_text(case.groups)))
    if case.household:
        lines.append(t(N_("Hộ gia đình: {household}"), household=labels.priority_part(f"household:{case.household}")))
    needs = await _needs_lines(ctx, case)
    lines += [_("Nhu cầu:"), *needs] if needs else [_("Nhu cầu: chưa có")]
    lines.append(t(N_("Ưu tiên: {priority}"), priority=priority_text(case)))
    lines.append(t(N_("Mức nguy cơ: {risk}"), risk=risk_label(case.risk)))
    published = t(N_("đã công bố từ {day}"), day=local_day(case.published_at)) if case.published_at else _("chưa công bố")
    lines.append(t(N_("Đồng ý chia sẻ ẩn danh: {consent} · {published}"), consent=consent_label(case.donor_consent), published=published))
    deliveries = await support.of_case(ctx.session, case.id)
    if deliveries:
        value = sum(d.value or 0 for d in deliveries)
        lines.append(t(N_("Hỗ trợ đã trao: {n} lần, tổng giá trị {value}; lần gần nhất {day}."), n=len(deliveries), value=i18n.money(value), day=i18n.day(deliveries[-1].delivered_on)))
    questions = await review.questions_of(ctx.session, case.id)
    waiting = sum(1 for q in questions if q.answered_at is None)
    if questions:
        lines.append(t(N_("Câu hỏi cho người báo: {n} ({waiting} chưa trả lời). Xem: /nhatky {code}"), n=len(questions), waiting=waiting, code=case.code))
    if track is not None and track.duplicate_of is not None:
        original = await cases.get(ctx.session, track.duplicate_of)
        if original is not None:
            lines.append(t(N_("Trùng với hồ sơ: {code}"), code=original.code))
    lines.append(t(N_("Người báo: {who} · báo lúc {at}"), who=who(reporter), at=i18n.moment(case.created_at)))
    if case.personal and case.personal.get("photo"):
        lines.append(t(N_("📷 Có ảnh kèm theo. Xem ảnh: /anh {code}"), code=case.code))
    audit.record(ctx.session, "read_personal", actor_id=ctx.person.id, case_id=case.id, now=ctx.now)
    return split(lines, case_buttons(case, track))


@command("hoso", "case", roles={"staff"}, description=N_("Xem và xử lý một hồ sơ"))
async def show_case(ctx: Context) -> Replies:
    case = await find_case(ctx, _(HOSO_USAGE))
    if isinstance(case, Reply):
        return [case]
    return await case_file(ctx, case)


@command("anh", "photo", roles={"staff"}, description=N_("Xem ảnh của trẻ trong một hồ sơ"))
async def show_photo(ctx: Context) -> Replies:
    """The child's photo, fetched from the channel it was sent on; every viewing is audited."""
    case = await find_case(ctx, _(ANH_USAGE))
    if isinstance(case, Reply):
        return [case]
    file_id = (case.personal or {}).get("photo")
    if not file_id:
        return [Reply(t(N_("Hồ sơ {code} không có ảnh."), code=case.code))]
    reporter = await ctx.session.get(Person, case.reporter_id) if case.reporter_id else None
    sent_on = reporter.channel if reporter is not None else ctx.event.channel
    if ctx.app.fetch_file is None or sent_on != ctx.event.channel:  # a file id means something only to its own channel
        return [Reply(t(N_("Ảnh của hồ sơ {code} được gửi qua {channel}: hãy xem bằng tài khoản {channel} của bạn (liên kết hai tài khoản: /lienket)."),
                        code=case.code, channel=channel_name(sent_on)))]
    image = ctx.file(str(file_id))  # downloaded outside the transaction (bot/context.py)
    if isinstance(image, Exception):
        return [Reply(_("Chưa tải được ảnh lúc này. Hãy thử lại sau ít phút."))]
    audit.record(ctx.session, "read_photo", actor_id=ctx.person.id, case_id=case.id, now=ctx.now)
    return [Reply(t(N_("📷 Ảnh của trẻ, hồ sơ {code}. Chỉ dùng cho công việc bảo vệ trẻ em; không chia sẻ, không lưu lại."), code=case.code), image=image)]
