"""A case's history (/nhatky: its events and the audit log, in time order) and erasure of its
personal data on a lawful request (/xoa, Personal Data Protection Law 91/2025/QH15)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot import forms, i18n, labels
from bot.commands import command
from bot.context import Context
from bot.core import Reply
from bot.forms import FormSpec, Replies
from bot.i18n import N_, _, t
from bot.staff.actions import cancelled, done, form_case
from bot.staff.common import find_case, form_open, open_case_button, split, who
from conversations.engine import FormState
from conversations.staff_forms import ERASE_FORM
from storage import audit, cases, review
from storage.models import Person

MAX_LINES = 60

EVENT = {
    "created": N_("Báo cáo được gửi"),
    "emergency": N_("Báo động khẩn cấp"),
    "completed": N_("Báo cáo được điền xong"),
    "verified": N_("Xác minh"),
    "rejected": N_("Không tiếp nhận"),
    "duplicate": N_("Đánh dấu trùng với"),
    "risk": N_("Mức nguy cơ"),
    "priority": N_("Điều chỉnh ưu tiên"),
    "consent": N_("Sự đồng ý chia sẻ"),
    "published": N_("Công bố nhu cầu"),
    "unpublished": N_("Ngừng công bố"),
    "question": N_("Hỏi người báo"),
    "answer": N_("Người báo trả lời"),
    "plan": N_("Kế hoạch hỗ trợ"),
    "support": N_("Hỗ trợ đã trao"),
    "supported": N_("Trẻ được hỗ trợ"),
    "handled": N_("Can thiệp khẩn cấp"),
    "closed": N_("Đóng hồ sơ"),
    "recheck": N_("Rà soát: không thay đổi"),
    "recheck_changed": N_("Rà soát: có thay đổi"),
    "erased": N_("Xóa dữ liệu cá nhân"),
}
AUDIT = {
    "read_personal": N_("xem dữ liệu cá nhân"),
    "read_history": N_("xem nhật ký"),
    "export": N_("xuất dữ liệu"),
}
# Audit actions already told by a case event: shown once.
TOLD_BY_EVENTS = frozenset({"status", "risk", "priority", "consent", "publish", "unpublish", "support", "handled", "erase", "ask_reporter"})


def _status_change(before: str | None, after: str | None) -> str:
    if before and after:
        return f" ({labels.status(before)} → {labels.status(after)})"
    return f" ({labels.status(after)})" if after else ""


@command("nhatky", "log", roles={"staff"}, description=N_("Nhật ký của một hồ sơ"))
async def history(ctx: Context) -> Replies:
    case = await find_case(ctx, _("Gõ /nhatky kèm mã hồ sơ, ví dụ: /nhatky LCA-2026-000123."))
    if isinstance(case, Reply):
        return [case]
    assert case.id is not None
    events = await cases.history(ctx.session, case.id)
    entries = [e for e in await audit.of_case(ctx.session, case.id) if e.action not in TOLD_BY_EVENTS]
    actor_ids = {e.actor_id for e in events} | {e.actor_id for e in entries}
    people = {p.id: p for p in await ctx.session.exec(select(Person).where(col(Person.id).in_([a for a in actor_ids if a])))}
    timeline: list[tuple[Any, int, str]] = []
    for event in events:
        line = _(EVENT.get(event.kind, event.kind)) + _status_change(event.from_status, event.to_status)
        if event.note:
            line += f": {event.note}"
        timeline.append((event.at, 0, f"{i18n.moment(event.at)} · {who(people.get(event.actor_id))} · {line}"))
    for entry in entries:
        action = _(AUDIT[entry.action]) if entry.action in AUDIT else entry.action
        timeline.append((entry.at, 1, f"{i18n.moment(entry.at)} · {who(people.get(entry.actor_id))} · 🔎 {action}"))
    timeline.sort(key=lambda item: (item[0], item[1]))
    shown = [line for _at, _kind, line in timeline][-MAX_LINES:]
    head = t(N_("📜 Nhật ký hồ sơ {code} ({n} mục"), code=case.code, n=len(timeline))
    head += t(N_(", {shown} mục gần nhất):"), shown=len(shown)) if len(shown) < len(timeline) else "):"
    audit.record(ctx.session, "read_history", actor_id=ctx.person.id, case_id=case.id, now=ctx.now)
    return split([head, *shown], buttons=((open_case_button(case),),))


# ---- erasure ---------------------------------------------------------------------------------


@command("xoa", "erase", roles={"staff"}, description=N_("Xóa dữ liệu cá nhân của một hồ sơ theo yêu cầu"))
async def erase(ctx: Context) -> Replies:
    blocked = form_open(ctx)
    if blocked is not None:
        return [blocked]
    case = await find_case(ctx, _("Gõ /xoa kèm mã hồ sơ, ví dụ: /xoa LCA-2026-000123."))
    if isinstance(case, Reply):
        return [case]
    if case.personal is None:
        return [Reply(t(N_("Dữ liệu cá nhân của hồ sơ {code} đã được xóa trước đó."), code=case.code))]
    intro = t(N_("🗑 Xóa dữ liệu cá nhân của hồ sơ {code} theo yêu cầu hợp pháp (Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15)."), code=case.code)
    return await forms.start(ctx, ERASE_FORM.id, intro=intro, meta={"case_id": case.id})


async def erase_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    case = await form_case(ctx, state)
    if isinstance(case, Reply):
        return [case]
    if answers.get("confirm") is not True:
        return done(t(N_("Chưa xóa gì. Dữ liệu của hồ sơ {code} vẫn giữ nguyên."), code=case.code), case)
    if case.personal is None:
        return [Reply(t(N_("Dữ liệu cá nhân của hồ sơ {code} đã được xóa trước đó."), code=case.code))]
    notes = await review.erase(ctx.session, case, str(answers["reason"]), actor_id=ctx.person.id, now=ctx.now)
    return done(t(N_("🗑 Đã xóa vĩnh viễn dữ liệu cá nhân của hồ sơ {code} (tên, điện thoại, thôn/bản, ảnh, mô tả và {notes} ghi chú). Số liệu ẩn danh vẫn được giữ để báo cáo."), code=case.code, notes=notes), case)


forms.register(FormSpec(ERASE_FORM, on_done=erase_done, on_cancel=cancelled, effects={}))
