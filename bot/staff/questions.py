"""Asking the reporter: staff write a question about a case, the bot relays it to the person who
reported it, their answer comes back to the staff member and is attached to the case's history."""

from __future__ import annotations

from typing import Any

from bot import forms, i18n
from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import FormSpec, Replies
from bot.i18n import N_, _, t
from bot.staff.actions import cancelled, done, form_case, start_case_form
from bot.staff.common import form_open, not_allowed, open_case_button
from conversations.engine import FormState
from conversations.staff_forms import ANSWER_FORM, ASK_FORM
from storage import review
from storage.models import Person
from storage.review import NotAllowed

ASKABLE = ("new", "verified", "in_support", "supported")


@command("hoi", "ask", roles={"staff"}, description=N_("Hỏi người báo thêm thông tin"))
async def ask(ctx: Context) -> Replies:
    return await start_case_form(ctx, ASK_FORM.id, N_("Gõ /hoi kèm mã hồ sơ, ví dụ: /hoi LCA-2026-000123."), ASKABLE,
                                 N_("Hỏi người báo của hồ sơ {code}."))


async def ask_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    case = await form_case(ctx, state)
    if isinstance(case, Reply):
        return [case]
    try:
        row = await review.ask_reporter(ctx.session, case, str(answers["question"]), actor_id=ctx.person.id, now=ctx.now)
    except NotAllowed as refused:
        return [not_allowed(refused.reason)]
    reporter = await ctx.session.get(Person, row.reporter_id)
    if reporter is None or not reporter.active:
        return done(t(N_("Đã lưu câu hỏi, nhưng người báo của hồ sơ {code} không còn hoạt động nên chưa gửi được."), code=case.code), case)
    with i18n.use(reporter.locale or ctx.settings.default_locale):
        text = t(N_("❓ Cán bộ hỏi thêm về hồ sơ {code}:\n{question}\nBấm «Trả lời» hoặc gõ /traloi {id}."), code=case.code, question=row.question, id=row.id)
        ctx.notify(reporter, Reply(text, buttons=((Button(_("✍️ Trả lời"), f"m:traloi:{row.id}"),),)))
    return done(t(N_("✉️ Đã gửi câu hỏi tới người báo của hồ sơ {code}. Câu trả lời sẽ được gửi cho bạn và gắn vào hồ sơ."), code=case.code), case)


@command("traloi", "answer", roles={"collaborator", "staff"})
async def answer(ctx: Context) -> Replies:
    """The reporter answers a question (the button under it, or /traloi <number>)."""
    blocked = form_open(ctx)
    if blocked is not None:
        return [blocked]
    if not ctx.event.args or not ctx.event.args[0].isdigit():
        return [Reply(_("Gõ /traloi kèm số của câu hỏi, ví dụ: /traloi 12 (số ở cuối câu hỏi của cán bộ)."))]
    row = await review.question(ctx.session, int(ctx.event.args[0]))
    if row is None or row.reporter_id != ctx.person.id:
        return [Reply(_("Không tìm thấy câu hỏi này trong các câu hỏi gửi cho bạn."))]
    if row.answered_at is not None:
        return [Reply(_("Bạn đã trả lời câu hỏi này rồi. Cảm ơn bạn."))]
    intro = t(N_("Câu hỏi của cán bộ:\n{question}"), question=row.question or "")
    return await forms.start(ctx, ANSWER_FORM.id, intro=intro, meta={"question_id": row.id})


async def answer_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    row = await review.question(ctx.session, int(state.meta["question_id"]))
    if row is None or row.reporter_id != ctx.person.id:
        return [Reply(_("Không tìm thấy câu hỏi này trong các câu hỏi gửi cho bạn."))]
    try:
        case = await review.answer_question(ctx.session, row, str(answers["answer"]), actor_id=ctx.person.id, now=ctx.now)
    except NotAllowed:
        return [Reply(_("Bạn đã trả lời câu hỏi này rồi. Cảm ơn bạn."))]
    asker = await ctx.session.get(Person, row.asked_by) if row.asked_by else None
    if asker is not None and asker.active and asker.role == "staff":
        with i18n.use(asker.locale or ctx.settings.default_locale):
            text = t(N_("💬 Người báo đã trả lời về hồ sơ {code}:\nHỏi: {question}\nTrả lời: {answer}"), code=case.code, question=row.question or "", answer=row.answer or "")
            ctx.notify(asker, Reply(text, buttons=((open_case_button(case),),)))
    return [Reply(t(N_("✅ Đã gửi câu trả lời cho cán bộ. Cảm ơn bạn. (Hồ sơ {code})"), code=case.code))]


async def answer_cancelled(ctx: Context, state: FormState) -> Replies:
    return [Reply(t(N_("Đã hủy. Bạn có thể trả lời sau: gõ /traloi {id}"), id=state.meta["question_id"]))]


forms.register(FormSpec(ASK_FORM, on_done=ask_done, on_cancel=cancelled, effects={}))
forms.register(FormSpec(ANSWER_FORM, on_done=answer_done, on_cancel=answer_cancelled, effects={}))
