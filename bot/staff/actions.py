"""What staff do to a case (Decree 56/2017, Chapter III): verify, assess risk, record the
emergency intervention, mark duplicates, reject with a reason, record consent, publish the
anonymised needs, make the support plan, record support delivered, adjust priority, close.

Each is a typed command (`/xacminh LCA-2026-000123`) and a button on the case file; the ones
that need words (a reason, a plan) open a short form. Every change is written to the case's
history and the audit log by storage.review.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from bot import forms, i18n
from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import FormSpec, Replies
from bot.i18n import N_, _, t
from bot.staff.common import (
    CONSENT_WORDS,
    RISK_WORDS,
    consent_label,
    find_case,
    form_open,
    need_label,
    not_allowed,
    open_case_button,
    risk_label,
    words,
)
from bot.staff.review import priority_text
from conversations.engine import FormState
from conversations.parsing.text import tokens
from conversations.staff_forms import (
    CLOSE_FORM,
    HANDLED_FORM,
    PLAN_FORM,
    PRIORITY_FORM,
    REJECT_FORM,
    SUPPORT_FORM,
)
from storage import cases, review, support
from storage.deadlines import default_holidays, parse_holidays
from storage.models import Case, Person
from storage.review import NotAllowed

log = logging.getLogger(__name__)


def holidays(ctx: Context) -> frozenset[date]:
    """Public holidays for deadline arithmetic: the fixed ones of this year and next, plus the
    HOLIDAYS setting (Tết and the Hung Kings' day change every year)."""
    year = ctx.today.year
    try:
        extra = parse_holidays(ctx.settings.holidays) if ctx.settings.holidays else frozenset()
    except ValueError as bad:  # a typo in the setting must not stop staff from working
        log.error("HOLIDAYS setting ignored: %s", bad)
        extra = frozenset()
    return default_holidays(year) | default_holidays(year + 1) | extra


async def tell_reporter(ctx: Context, case: Case, message: str, buttons: tuple[tuple[Button, ...], ...] = (), **params: object) -> None:
    """A message to whoever reported the case, in their language (never personal data)."""
    if case.reporter_id is None or case.reporter_id == ctx.person.id:
        return
    person = await ctx.session.get(Person, case.reporter_id)
    if person is None or not person.active:
        return
    with i18n.use(person.locale or ctx.settings.default_locale):
        ctx.notify(person, Reply(t(message, **params), buttons=buttons))


def done(text: str, case: Case) -> list[Reply]:
    return [Reply(text, buttons=((open_case_button(case),),))]


async def case_for_form(ctx: Context, usage: str, allowed: tuple[str, ...]) -> Case | Reply:
    """The case a staff form is about to be opened for, if no other form is open and the case
    is at a step where the form applies."""
    blocked = form_open(ctx)
    if blocked is not None:
        return blocked
    case = await find_case(ctx, _(usage))
    if isinstance(case, Reply):
        return case
    if case.status not in allowed:
        return not_allowed(f"status:{case.status}")
    return case


async def start_case_form(ctx: Context, form_id: str, usage: str, allowed: tuple[str, ...], intro: str) -> Replies:
    case = await case_for_form(ctx, usage, allowed)
    if isinstance(case, Reply):
        return [case]
    return await forms.start(ctx, form_id, intro=t(intro, code=case.code), meta={"case_id": case.id})


async def form_case(ctx: Context, state: FormState) -> Case | Reply:
    """The case a finished staff form is about, if the person may still act on it."""
    if ctx.person.role != "staff" or not ctx.person.active:
        return Reply(_("Bạn không còn quyền cán bộ nên thay đổi này chưa được lưu."))
    case = await cases.get(ctx.session, int(state.meta["case_id"]))
    if case is None:
        return Reply(_("Không còn tìm thấy hồ sơ này."))
    return case


async def cancelled(ctx: Context, state: FormState) -> Replies:
    case = await cases.get(ctx.session, int(state.meta.get("case_id", 0)))
    text = _("Đã hủy. Hồ sơ không thay đổi gì.")
    return done(text, case) if case is not None else [Reply(text)]


# ---- verify ------------------------------------------------------------------------------


@command("xacminh", "verify", roles={"staff"}, description=N_("Xác minh một hồ sơ"))
async def verify(ctx: Context) -> Replies:
    case = await find_case(ctx, _("Gõ /xacminh kèm mã hồ sơ, ví dụ: /xacminh LCA-2026-000123."))
    if isinstance(case, Reply):
        return [case]
    try:
        track = await review.verify(ctx.session, case, actor_id=ctx.person.id, now=ctx.now, holidays=holidays(ctx))
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    await tell_reporter(ctx, case, N_("✅ Hồ sơ {code} đã được cán bộ xác minh. Kế hoạch hỗ trợ sẽ được lập trong 5 ngày làm việc. Cảm ơn bạn."), code=case.code)
    assert track.plan_due is not None
    return done(t(N_("✅ Đã xác minh hồ sơ {code}. Kế hoạch hỗ trợ phải lập trước {deadline} (5 ngày làm việc)."), code=case.code, deadline=i18n.moment(track.plan_due)), case)


# ---- risk ----------------------------------------------------------------------------------


@command("nguyco", "risk", roles={"staff"}, description=N_("Đánh giá mức nguy cơ: cao, trung bình, thấp"))
async def set_risk(ctx: Context) -> Replies:
    case = await find_case(ctx, _("Gõ /nguyco kèm mã hồ sơ và mức: cao, tb (trung bình) hoặc thap. Ví dụ: /nguyco LCA-2026-000123 cao."))
    if isinstance(case, Reply):
        return [case]
    level = RISK_WORDS.get(words(ctx.event.args[1:])) if len(ctx.event.args) > 1 else None
    if level is None:
        buttons = (tuple(Button(risk_label(r), f"m:nguyco:{case.code}:{r}") for r in review.RISKS),)
        return [Reply(t(N_("Mức nguy cơ của hồ sơ {code} (hiện: {risk})? Chọn Cao, Trung bình hoặc Thấp."), code=case.code, risk=risk_label(case.risk)), buttons=buttons)]
    try:
        await review.set_risk(ctx.session, case, level, actor_id=ctx.person.id, now=ctx.now)
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    return done(t(N_("Đã ghi mức nguy cơ của hồ sơ {code}: {risk}."), code=case.code, risk=risk_label(level)), case)


# ---- consent and publishing ------------------------------------------------------------------


@command("dongy", "consent", roles={"staff"}, description=N_("Ghi nhận sự đồng ý chia sẻ ẩn danh"))
async def set_consent(ctx: Context) -> Replies:
    case = await find_case(ctx, _("Gõ /dongy kèm mã hồ sơ và câu trả lời: co, khong hoặc chuahoi. Ví dụ: /dongy LCA-2026-000123 co."))
    if isinstance(case, Reply):
        return [case]
    answer = " ".join(tokens(" ".join(ctx.event.args[1:])))
    consent = CONSENT_WORDS.get(answer) or CONSENT_WORDS.get(answer.replace(" ", ""))
    if consent is None:
        buttons = (tuple(Button(consent_label(c), f"m:dongy:{case.code}:{c}") for c in review.CONSENTS),)
        return [Reply(t(N_("Người đại diện hợp pháp của trẻ (và trẻ, nếu từ 7 tuổi) đã đồng ý chia sẻ nhu cầu ẩn danh với nhà hảo tâm chưa? Hiện ghi: {consent}."), consent=consent_label(case.donor_consent)), buttons=buttons)]
    unpublished = await review.set_consent(ctx.session, case, consent, actor_id=ctx.person.id, now=ctx.now)
    text = t(N_("Đã ghi nhận sự đồng ý của hồ sơ {code}: {consent}."), code=case.code, consent=consent_label(consent))
    if unpublished:
        text += " " + _("Nhu cầu của trẻ đã được gỡ khỏi danh sách nhà hảo tâm.")
    return done(text, case)


@command("congbo", "publish", roles={"staff"}, description=N_("Công bố nhu cầu ẩn danh cho nhà hảo tâm"))
async def publish(ctx: Context) -> Replies:
    case = await find_case(ctx, _("Gõ /congbo kèm mã hồ sơ, ví dụ: /congbo LCA-2026-000123. Thêm «an» để ngừng công bố."))
    if isinstance(case, Reply):
        return [case]
    assert case.id is not None
    hide = words(ctx.event.args[1:]) in ("an", "hide", "go", "ngung")
    try:
        if hide:
            await review.unpublish(ctx.session, case, actor_id=ctx.person.id, now=ctx.now)
            return done(t(N_("Đã ngừng công bố nhu cầu của hồ sơ {code}."), code=case.code), case)
        needs = await cases.needs_of(ctx.session, case.id)
        await review.publish(ctx.session, case, actor_id=ctx.person.id, now=ctx.now, has_needs=bool(needs))
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    kinds = ", ".join(need_label(n.kind) for n in needs)
    return done(t(N_("📢 Đã công bố {n} nhu cầu của hồ sơ {code} cho nhà hảo tâm: {kinds}. Nhà hảo tâm chỉ thấy thông tin ẩn danh (không tên, không địa chỉ, không hoàn cảnh nhạy cảm)."), n=len(needs), code=case.code, kinds=kinds), case)


# ---- duplicates ------------------------------------------------------------------------------


@command("trung", "duplicate", roles={"staff"}, description=N_("Đánh dấu hồ sơ trùng"))
async def duplicate(ctx: Context) -> Replies:
    from bot.staff.duplicates import propose

    case = await find_case(ctx, _("Gõ /trung kèm mã hồ sơ (và mã hồ sơ gốc nếu đã biết), ví dụ: /trung LCA-2026-000124 LCA-2026-000123."))
    if isinstance(case, Reply):
        return [case]
    if len(ctx.event.args) < 2:
        return await propose(ctx, case)
    original = await cases.by_code(ctx.session, ctx.event.args[1].strip().upper())
    if original is None:
        return [Reply(t(N_("Không tìm thấy hồ sơ gốc «{code}»."), code=ctx.event.args[1][:30]))]
    try:
        await review.mark_duplicate(ctx.session, case, original, actor_id=ctx.person.id, now=ctx.now)
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    await tell_reporter(ctx, case, N_("Hồ sơ {code} trùng với một hồ sơ đã có nên được gộp vào hồ sơ đó. Cảm ơn bạn đã báo."), code=case.code)
    return done(t(N_("🔁 Đã đánh dấu hồ sơ {code} trùng với {original}. Số liệu chỉ tính hồ sơ gốc."), code=case.code, original=original.code), original)


# ---- reject ----------------------------------------------------------------------------------


@command("tuchoi", "reject", roles={"staff"}, description=N_("Không tiếp nhận hồ sơ (kèm lý do)"))
async def reject(ctx: Context) -> Replies:
    return await start_case_form(ctx, REJECT_FORM.id, N_("Gõ /tuchoi kèm mã hồ sơ, ví dụ: /tuchoi LCA-2026-000123."), ("new",),
                                 N_("Không tiếp nhận hồ sơ {code}."))


async def reject_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    case = await form_case(ctx, state)
    if isinstance(case, Reply):
        return [case]
    reason = str(answers["reason"])
    try:
        await review.reject(ctx.session, case, reason, actor_id=ctx.person.id, now=ctx.now)
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    await tell_reporter(ctx, case, N_("Hồ sơ {code} không được tiếp nhận. Lý do: {reason}\nNếu bạn có thêm thông tin, hãy báo lại bằng /baocao. Cảm ơn bạn."), code=case.code, reason=reason)
    return done(t(N_("⛔ Đã ghi: không tiếp nhận hồ sơ {code}. Người báo đã được báo lý do."), code=case.code), case)


# ---- emergency intervention ---------------------------------------------------------------


@command("canthiep", "handled", roles={"staff"}, description=N_("Ghi nhận đã can thiệp khẩn cấp"))
async def handled(ctx: Context) -> Replies:
    return await start_case_form(ctx, HANDLED_FORM.id, N_("Gõ /canthiep kèm mã hồ sơ, ví dụ: /canthiep LCA-2026-000123."),
                                 review.ACTIVE_STATUSES, N_("Ghi nhận can thiệp khẩn cấp cho hồ sơ {code}."))


async def handled_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    case = await form_case(ctx, state)
    if isinstance(case, Reply):
        return [case]
    try:
        await review.record_handled(ctx.session, case, str(answers["action"]), actor_id=ctx.person.id, now=ctx.now)
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    return done(t(N_("🚨 Đã ghi nhận can thiệp khẩn cấp cho hồ sơ {code}."), code=case.code), case)


# ---- the support plan, support delivered, closing -------------------------------------------


@command("kehoach", "plan", roles={"staff"}, description=N_("Ghi kế hoạch hỗ trợ, can thiệp"))
async def plan(ctx: Context) -> Replies:
    return await start_case_form(ctx, PLAN_FORM.id, N_("Gõ /kehoach kèm mã hồ sơ, ví dụ: /kehoach LCA-2026-000123."), ("verified",),
                                 N_("Kế hoạch hỗ trợ, can thiệp cho hồ sơ {code}."))


async def plan_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    case = await form_case(ctx, state)
    if isinstance(case, Reply):
        return [case]
    try:
        await review.record_plan(ctx.session, case, str(answers["plan"]), actor_id=ctx.person.id, now=ctx.now)
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    return done(t(N_("📝 Đã lưu kế hoạch hỗ trợ của hồ sơ {code}. Trạng thái: đang hỗ trợ."), code=case.code), case)


@command("hotro", "support", roles={"staff"}, description=N_("Ghi nhận hỗ trợ đã trao cho trẻ"))
async def delivered(ctx: Context) -> Replies:
    return await start_case_form(ctx, SUPPORT_FORM.id, N_("Gõ /hotro kèm mã hồ sơ, ví dụ: /hotro LCA-2026-000123."), review.VERIFIED_STATUSES,
                                 N_("Ghi nhận hỗ trợ đã trao cho trẻ của hồ sơ {code}."))


async def delivered_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    case = await form_case(ctx, state)
    if isinstance(case, Reply):
        return [case]
    if case.status not in review.VERIFIED_STATUSES:
        return [not_allowed(f"status:{case.status}")]
    value = int(answers["value"]) if answers.get("value") is not None else None
    await support.record(ctx.session, case, kind=str(answers["kind"]), what=str(answers["what"]), value=value,
                         delivered_on=date.fromisoformat(str(answers["delivered_on"])), actor_id=ctx.person.id, now=ctx.now)
    first = await review.record_supported(ctx.session, case, actor_id=ctx.person.id, now=ctx.now)
    if first:
        await tell_reporter(ctx, case, N_("🎁 Trẻ trong hồ sơ {code} đã nhận được hỗ trợ. Cảm ơn bạn đã báo và theo dõi."), code=case.code)
    shown = i18n.money(value) if value is not None else _("không tính bằng tiền")
    return done(t(N_("🎁 Đã ghi nhận hỗ trợ cho hồ sơ {code}: {kind}, {value}."), code=case.code, kind=need_label(str(answers["kind"])), value=shown), case)


@command("dong", "close", roles={"staff"}, description=N_("Đóng hồ sơ"))
async def close(ctx: Context) -> Replies:
    return await start_case_form(ctx, CLOSE_FORM.id, N_("Gõ /dong kèm mã hồ sơ, ví dụ: /dong LCA-2026-000123."), review.VERIFIED_STATUSES,
                                 N_("Đóng hồ sơ {code}."))


async def close_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    case = await form_case(ctx, state)
    if isinstance(case, Reply):
        return [case]
    try:
        await review.close(ctx.session, case, str(answers["reason"]), actor_id=ctx.person.id, now=ctx.now)
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    return done(t(N_("🔒 Đã đóng hồ sơ {code}."), code=case.code), case)


# ---- priority --------------------------------------------------------------------------------


@command("uutien", "priority", roles={"staff"}, description=N_("Điều chỉnh điểm ưu tiên (kèm lý do)"))
async def priority(ctx: Context) -> Replies:
    case = await case_for_form(ctx, N_("Gõ /uutien kèm mã hồ sơ, ví dụ: /uutien LCA-2026-000123."), review.ACTIVE_STATUSES)
    if isinstance(case, Reply):
        return [case]
    base, _parts = review.rubric(case)
    intro = t(N_("Điểm ưu tiên của hồ sơ {code}: {priority}. Theo thang điểm viết sẵn: {base}/100."), code=case.code, priority=priority_text(case), base=base)
    return await forms.start(ctx, PRIORITY_FORM.id, intro=intro, meta={"case_id": case.id})


async def priority_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    case = await form_case(ctx, state)
    if isinstance(case, Reply):
        return [case]
    try:
        await review.adjust_priority(ctx.session, case, int(answers["score"]), str(answers["reason"]), actor_id=ctx.person.id, now=ctx.now)
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    return done(t(N_("⚖️ Đã điều chỉnh ưu tiên của hồ sơ {code}: {priority}."), code=case.code, priority=priority_text(case)), case)


for _form, _done in ((REJECT_FORM, reject_done), (HANDLED_FORM, handled_done), (PLAN_FORM, plan_done),
                     (SUPPORT_FORM, delivered_done), (CLOSE_FORM, close_done), (PRIORITY_FORM, priority_done)):
    forms.register(FormSpec(_form, on_done=_done, on_cancel=cancelled, effects={}))
