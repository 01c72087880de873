"""Re-checks (rà soát): every RECHECK_DAYS (90 by default) a collaborator is asked to look again
at each open case they reported, answering with one tap ("no change") or a few words on what
changed, which goes to staff. Reminders go out each morning at 8, one message per collaborator."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import forms, i18n
from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import FormSpec, Replies
from bot.i18n import N_, _, t
from bot.jobs import daily
from bot.staff.common import case_place, form_open, joined, keyword, local_day, open_case_button
from conversations.engine import FormState
from conversations.staff_forms import RECHECK_FORM
from storage import cases, outbox, people, review
from storage.models import Case
from storage.review import DueCase

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

PER_MESSAGE = 8  # cases per reminder message: each has two buttons
# What a collaborator may type after "/rasoat <mã>" (with or without marks and spaces).
ANSWERS = joined({"ok": "same", "khong": "same", "0": "same", "khong thay doi": "same", "khong doi": "same",
                  "doi": "changed", "thay doi": "changed", "co": "changed", "co thay doi": "changed", "change": "changed"})


def reminder(cases_due: list[DueCase], days: int) -> list[Reply]:
    replies = []
    for start in range(0, len(cases_due), PER_MESSAGE):
        chunk = cases_due[start : start + PER_MESSAGE]
        # Sent through the outbox: on Zalo the buttons are numbered lines a typed number does not
        # reach, so the text says what to type.
        lines = [t(N_("🔄 Rà soát định kỳ ({days} ngày): hoàn cảnh của các trẻ dưới đây có gì thay đổi không? Trả lời cho từng hồ sơ: gõ /rasoat <mã> ok nếu không thay đổi, hoặc /rasoat <mã> doi nếu có thay đổi, ví dụ: /rasoat {code} ok. Trên Telegram có thể bấm nút dưới tin này."), days=days, code=chunk[0].code)]
        rows: list[tuple[Button, ...]] = []
        for case in chunk:
            lines.append(f"• {case.code} · {case_place(case)} · " + t(N_("báo ngày {day}"), day=local_day(case.created_at)))
            rows.append((Button(t(N_("✅ {code}: không thay đổi"), code=case.code), f"m:rasoat:{case.code}:ok"),
                         Button(_("✏️ Có thay đổi"), f"m:rasoat:{case.code}:doi")))
        replies.append(Reply("\n".join(lines), buttons=tuple(rows)))
    return replies


@daily("recheck_reminders", hour=8)
async def remind(app: App, now: datetime) -> None:
    every = timedelta(days=app.settings.recheck_days)
    async with app.db.transaction() as session:
        # bot.app imports the router, which imports this module: import it when used
        from bot.app import reply_to_payload

        due = await review.due_rechecks(session, now, every=every)
        for person, cases_due in due:
            with i18n.use(person.locale or app.settings.default_locale):
                for reply in reminder(cases_due, app.settings.recheck_days):
                    outbox.enqueue(session, person.channel, person.chat_id, reply_to_payload(reply), kind="reminder", now=now)
            await review.mark_reminded(session, [c.id for c in cases_due], now)
        log.info("re-check reminders: %d collaborators, %d cases", len(due), sum(len(c) for _p, c in due))
    app.outbox_ready.set()


async def _own_case(ctx: Context) -> Case | Reply:
    if not ctx.event.args:
        return Reply(_("Gõ /rasoat kèm mã hồ sơ và «ok» (không thay đổi) hoặc «doi» (có thay đổi), ví dụ: /rasoat LCA-2026-000123 ok."))
    case = await cases.by_code(ctx.session, ctx.event.args[0].strip().upper())
    if case is None or (case.reporter_id != ctx.person.id and ctx.person.role != "staff"):
        return Reply(_("Không tìm thấy hồ sơ này trong các báo cáo của bạn."))
    if case.status not in review.RECHECK_STATUSES:
        return Reply(t(N_("Hồ sơ {code} đã kết thúc, không cần rà soát nữa. Cảm ơn bạn."), code=case.code))
    return case


@command("rasoat", "recheck", roles={"collaborator", "staff"})
async def recheck(ctx: Context) -> Replies:
    """'no change' in one tap, or a short form to say what changed."""
    case = await _own_case(ctx)
    if isinstance(case, Reply):
        return [case]
    answer = keyword(ANSWERS, ctx.event.args[1:])
    if answer == "same":
        await review.record_recheck(ctx.session, case, actor_id=ctx.person.id, now=ctx.now)
        return [Reply(t(N_("✅ Đã ghi nhận: hồ sơ {code} không thay đổi. Cảm ơn bạn."), code=case.code))]
    if answer == "changed":
        blocked = form_open(ctx)
        if blocked is not None:
            return [blocked]
        return await forms.start(ctx, RECHECK_FORM.id, intro=t(N_("Rà soát hồ sơ {code}."), code=case.code), meta={"case_id": case.id})
    buttons = ((Button(_("✅ Không thay đổi"), f"m:rasoat:{case.code}:ok"), Button(_("✏️ Có thay đổi"), f"m:rasoat:{case.code}:doi")),)
    return [Reply(t(N_("Hoàn cảnh của trẻ trong hồ sơ {code} có gì thay đổi không?"), code=case.code), buttons=buttons)]


async def changed(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    case = await cases.get(ctx.session, int(state.meta["case_id"]))
    if case is None or case.status not in review.RECHECK_STATUSES:
        return [Reply(_("Hồ sơ này đã kết thúc, không cần rà soát nữa. Cảm ơn bạn."))]
    await review.record_recheck(ctx.session, case, actor_id=ctx.person.id, now=ctx.now, change=str(answers["change"]))
    for member in await people.staff(ctx.session):
        if member.id == ctx.person.id:
            continue
        with i18n.use(member.locale or ctx.settings.default_locale):
            ctx.notify(member, Reply(t(N_("🔄 Rà soát: hồ sơ {code} có thay đổi. Xem nội dung trong nhật ký: /nhatky {code}"), code=case.code),
                                     buttons=((open_case_button(case),),)))
    return [Reply(t(N_("✅ Đã gửi thay đổi của hồ sơ {code} cho cán bộ. Cảm ơn bạn."), code=case.code))]


async def abandoned(ctx: Context, state: FormState) -> Replies:
    case = await cases.get(ctx.session, int(state.meta["case_id"]))
    if case is None:
        return [Reply(_("Đã hủy."))]
    return [Reply(t(N_("Đã hủy. Bạn có thể rà soát lại sau: gõ /rasoat {code}"), code=case.code))]


forms.register(FormSpec(RECHECK_FORM, on_done=changed, on_cancel=abandoned, effects={}))
