"""Collaborators (and staff) report children: /baocao, the emergency path, /cuatoi.

The glue between the report form's answers and a stored case lives here: which answers are
personal comes from the form (Step.personal), never from a list kept in this file.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from bot import forms, i18n, labels
from bot.commands import command
from bot.context import Context
from bot.core import Reply
from bot.forms import FormSpec, Replies
from bot.i18n import N_, _, t
from conversations.categories import ARTICLE_10_GROUPS, label_of
from conversations.engine import FormState
from conversations.parsing import places
from conversations.parsing.age import Birth
from conversations.report import EMERGENCY, REPORT_FORM
from storage import cases, links, people
from storage.cases import CaseData
from storage.models import Case
from storage.priority import Priority

log = logging.getLogger(__name__)

REPORTER_ROLES = ("collaborator", "staff")


def can_report(ctx: Context) -> bool:
    return ctx.person.role in REPORTER_ROLES and ctx.person.active


def case_data(answers: dict[str, Any], complete: bool) -> CaseData:
    """Split answers into countable columns and the encrypted personal document."""
    personal_ids = REPORT_FORM.personal_fields
    personal = {k: v for k, v in answers.items() if k in personal_ids and v is not None}
    birth = Birth.from_json(answers["birth"]) if answers.get("birth") else None
    needs = {code: answers.get(f"amount_{code}") for code in answers.get("needs") or ()}
    return CaseData(
        province_code=int(answers["province"]),
        commune_code=int(answers["commune"]) if answers.get("commune") is not None else None,
        sex=answers.get("sex"),
        birth_year=birth.birth_year if birth else None,
        age_years=birth.age_years if birth else None,
        age_estimated=birth.estimated if birth else False,
        groups=tuple(answers.get("groups") or ()),
        household=answers.get("household"),
        relation=answers.get("relation"),
        danger=answers.get("danger") is True,
        donor_consent=answers.get("donor_consent") or "not_asked",
        photo_consent=answers.get("photo_consent") is True,
        needs=needs,
        personal=personal,
        complete=complete,
    )


@command("baocao", "report", description=N_("Báo cáo một trẻ em cần bảo vệ"), works_in_form=False)
async def start_report(ctx: Context) -> Replies:
    if not can_report(ctx):
        return [Reply(t(N_("Chỉ cộng tác viên và cán bộ bảo vệ trẻ em mới gửi được báo cáo qua đây. Nếu bạn thấy một trẻ em đang gặp nguy hiểm, hãy gọi ngay {hotline} (Tổng đài quốc gia bảo vệ trẻ em, miễn phí, 24/7) hoặc {police} (Công an)."), hotline=ctx.settings.hotline, police=ctx.settings.police))]
    intro = t(N_("Bắt đầu báo cáo trẻ em cần bảo vệ. Mỗi câu trả lời được lưu ngay; mất sóng thì lúc sau cứ trả lời tiếp. Nếu trẻ đang gặp nguy hiểm, hãy gọi ngay {hotline}."), hotline=ctx.settings.hotline)
    return await forms.start(ctx, REPORT_FORM.id, intro=intro)


async def raise_emergency(ctx: Context, state: FormState) -> tuple[FormState, Replies]:
    """A child in danger: open the case now, alert every staff member, show the hotline."""
    meta = dict(state.meta)
    case: Case | None = await cases.get(ctx.session, meta["case_id"]) if meta.get("case_id") else None
    data = case_data(state.answers, complete=False)
    if case is None:
        case = await cases.create(ctx.session, data, prefix=places.case_prefix(data.province_code), reporter_id=ctx.person.id, now=ctx.now)
        meta["case_id"] = case.id
    alerted = meta.get("alerted", False)
    if not alerted:
        for member in await people.staff(ctx.session):
            with i18n.use(member.locale or ctx.settings.default_locale):
                ctx.notify(member, Reply(_emergency_alert(ctx, case)))
        meta["alerted"] = True
        log.warning("emergency raised: case=%s", case.code)
    deadline = i18n.moment(case.respond_by) if case.respond_by else ""
    text = t(N_("🚨 Trẻ đang gặp nguy hiểm: hãy gọi ngay {hotline} (Tổng đài quốc gia bảo vệ trẻ em, miễn phí, 24/7) hoặc {police} (Công an).\nĐã báo cho cán bộ bảo vệ trẻ em. Mã hồ sơ: {code}. Cán bộ phải xử lý trước {deadline}.\nNếu an toàn: ở gần trẻ hoặc đưa trẻ tới nơi an toàn (người thân tin cậy, UBND xã, trạm y tế). Đừng tự đối đầu với người gây hại.\nSau đó hãy trả lời tiếp để cán bộ có đủ thông tin."), hotline=ctx.settings.hotline, police=ctx.settings.police, code=case.code, deadline=deadline)
    return replace(state, meta=meta), [Reply(text)]


def _emergency_alert(ctx: Context, case: Case) -> str:
    place = places.province(case.province_code).name
    if case.commune_code:
        place = f"{places.ward(case.commune_code).name}, {place}"
    groups = ", ".join(_(label_of(ARTICLE_10_GROUPS, g)) for g in case.groups) or _("chưa rõ")
    deadline = i18n.moment(case.respond_by) if case.respond_by else ""
    return t(N_("🚨 KHẨN CẤP: trẻ đang gặp nguy hiểm\nMã hồ sơ: {code}\nNơi: {place}\nHoàn cảnh: {groups}\nPhải xử lý trước: {deadline} (12 giờ)\nNgười báo đang tiếp tục điền báo cáo."), code=case.code, place=place, groups=groups, deadline=deadline)


async def submit_report(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    data = case_data(answers, complete=True)
    case = await cases.get(ctx.session, state.meta["case_id"]) if state.meta.get("case_id") else None
    if case is None:
        case = await cases.create(ctx.session, data, prefix=places.case_prefix(data.province_code), reporter_id=ctx.person.id, now=ctx.now)
    else:
        case = await cases.complete(ctx.session, case, data, actor_id=ctx.person.id, now=ctx.now)
    log.info("report submitted: case=%s priority=%s", case.code, case.priority)
    return [Reply(_receipt(ctx, case, data))]


def describe_priority(case: Case) -> str:
    level = Priority(case.priority, tuple((p[0], p[1]) for p in case.priority_parts)).level
    parts = ", ".join(f"{labels.priority_part(code)} +{points}" for code, points in case.priority_parts)
    return t(N_("{score}/100 ({level})"), score=case.priority, level=labels.priority_level(level)) + (f": {parts}" if parts else "")


def _receipt(ctx: Context, case: Case, data: CaseData) -> str:
    lines = [
        t(N_("✅ Đã nhận báo cáo. Mã hồ sơ: {code}"), code=case.code),
        t(N_("Mức ưu tiên: {priority}"), priority=describe_priority(case)),
    ]
    if case.danger:
        lines.append(t(N_("Tiếp theo: vì trẻ đang gặp nguy hiểm, cán bộ phải can thiệp trước {deadline}."), deadline=i18n.moment(case.respond_by) if case.respond_by else ""))
    else:
        lines.append(_("Tiếp theo: cán bộ bảo vệ trẻ em cấp xã sẽ xác minh và đánh giá ban đầu; kế hoạch hỗ trợ được lập trong 5 ngày làm việc sau khi xác minh."))
    if data.age_years is not None and data.age_years >= 16:
        lines.append(_("Lưu ý: trẻ từ 16 tuổi không còn thuộc phạm vi Luật Trẻ em; cán bộ sẽ xem xét cách hỗ trợ phù hợp."))
    lines.append(_("Xem tình trạng các báo cáo của bạn: /cuatoi. Cảm ơn bạn đã chung tay bảo vệ trẻ em."))
    return "\n".join(lines)


async def cancel_report(ctx: Context, state: FormState) -> Replies:
    if state.meta.get("case_id"):
        case = await cases.get(ctx.session, state.meta["case_id"])
        code = case.code if case else ""
        return [Reply(t(N_("Đã dừng báo cáo. Báo động khẩn cấp (mã {code}) vẫn được giữ và cán bộ vẫn xử lý; các câu trả lời sau đó không được lưu."), code=code))]
    return [Reply(_("Đã hủy báo cáo. Không có gì được lưu. Gõ /baocao khi cần báo cáo lại."))]


@command("cuatoi", "mine", roles={"collaborator", "staff", "donor"}, description=N_("Các báo cáo của tôi"))
async def my_cases(ctx: Context) -> Replies:
    if ctx.person.role == "donor":  # a donor's "mine" is their pledges
        from bot.roles.donor import donor_pledges

        return await donor_pledges(ctx)
    if not can_report(ctx):
        return []
    assert ctx.person.id is not None
    mine = await cases.of_reporter(ctx.session, await links.same_person(ctx.session, ctx.person.id))
    if not mine:
        return [Reply(_("Bạn chưa gửi báo cáo nào. Gõ /baocao để báo cáo một trẻ em cần bảo vệ."))]
    lines = [t(N_("Báo cáo của bạn ({n} gần nhất):"), n=len(mine))]
    for case in mine:
        place = places.ward(case.commune_code).short if case.commune_code else places.province(case.province_code).short
        flag = "🚨 " if case.danger else ""
        incomplete = "" if case.complete else " · " + _("chưa điền xong")
        lines.append(f"{flag}{case.code} · {i18n.day(case.created_at.astimezone(i18n.VN_TZ).date())} · {place} · {labels.status(case.status)}{incomplete}")
    return [Reply("\n".join(lines))]


forms.register(FormSpec(REPORT_FORM, on_done=submit_report, on_cancel=cancel_report, effects={EMERGENCY: raise_emergency}))
