"""Who is this and what are they doing: route one event to a handler.

Order: a typed number on the last menu becomes that button; commands next (inside an open form:
/huy cancels it, /baocao resumes it, a command that would start another form says so and asks
the open question again, the others run and the form resumes after); then an open form takes the
input; then menu buttons; else the role's menu.
"""

from __future__ import annotations

from dataclasses import replace

import bot.ops  # noqa: F401 - registers /nhap and the retention job
from bot import commands, forms
from bot.context import Context
from bot.core import Reply, numbered_options
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.roles import collaborator, common, donor, linking, staff  # noqa: F401 - they register their commands
from conversations.fields import is_number
from conversations.parsing.text import fold
from conversations.report import REPORT_FORM
from storage import audit, chat_state

CANCEL_COMMANDS = frozenset({"huy", "cancel"})
RESUMING_COMMANDS = frozenset({"baocao", "report", "start"})


async def dispatch(ctx: Context) -> Replies:
    event = _typed_menu_choice(ctx)
    ctx.event = event
    state = forms.open_state(ctx)

    if event.command is not None:
        if event.command in CANCEL_COMMANDS:
            if state is None:
                return [Reply(_("Không có gì đang làm dở để hủy.")), common.menu(ctx)]
            return await forms.request_cancel(ctx, state)
        if state is not None and event.command in RESUMING_COMMANDS and not event.args:
            if state.form != REPORT_FORM.id:  # /baocao during a pledge, say: that one is open
                return [forms.busy(state), *await forms.resume(ctx, state)]
            return await forms.resume(ctx, state, note=_("Bạn đang có một báo cáo làm dở. Tiếp tục từ câu đang hỏi (gõ /huy nếu muốn bỏ):"))
        entry = commands.lookup(event.command)
        if entry is None:
            replies = [Reply(_("Không có lệnh này. Gõ /trogiup để xem các lệnh."))]
            return replies + (await forms.resume(ctx, state) if state else [common.menu(ctx)])
        if state is not None and not entry.works_in_form and ctx.person.role in entry.roles:
            return [forms.busy(state), *await forms.resume(ctx, state)]  # a new form would lose this one's answers
        replies = await run_command(ctx, entry)
        if state is not None and forms.open_state(ctx) is not None and event.command not in RESUMING_COMMANDS:
            replies += await forms.resume(ctx, state, note=_("Tiếp tục phần đang dở:"))
        return replies

    if state is not None:
        return await forms.answer(ctx, state)

    if event.document is not None and ctx.person.role == "staff":  # a list sent without "/nhap"
        entry = commands.lookup("nhap")
        if entry is not None:
            return await run_command(ctx, entry)

    if event.button is not None and event.button.startswith("m:"):
        command, *args = event.button[2:].split(":")
        entry = commands.lookup(command)
        if entry is not None:
            ctx.event = replace(event, button=None, command=command, args=tuple(args))
            return await run_command(ctx, entry)
    if event.button is not None:
        return [Reply(_("Nút này không còn dùng được. Hãy chọn lại ở tin nhắn mới nhất.")), common.menu(ctx)]
    return [common.menu(ctx)]


async def run_command(ctx: Context, entry: commands.Command) -> Replies:
    """Run a command if the person's role allows it; otherwise refuse politely and audit it."""
    if ctx.person.role not in entry.roles or not ctx.person.active:
        audit.record(ctx.session, f"refused:/{entry.name}", actor_id=ctx.person.id, now=ctx.now)
        return [Reply(t(N_("Lệnh /{command} chỉ dành cho cán bộ được giao. Nếu bạn cần hỗ trợ, hãy liên hệ {org}."), command=entry.name, org=ctx.settings.org_name))]
    return await entry.handler(ctx)


def _typed_menu_choice(ctx: Context):
    """'2' typed after a menu means its second option, on every channel."""
    event = ctx.event
    if event.text is None or ctx.chat.form:
        return event
    folded = fold(event.text).strip(" .")
    if is_number(folded) and 1 <= int(folded) <= len(ctx.chat.menu):
        return replace(event, text=None, button=ctx.chat.menu[int(folded) - 1])
    return event


def remember_menu(ctx: Context, replies: Replies) -> None:
    """Save the numbered options of the last reply that had any, for typed numbers next time."""
    for reply in reversed(replies):
        options = numbered_options(reply)
        if options:
            chat_state.save_menu(ctx.chat, [b.data for b in options])
            return
    if ctx.chat.menu:
        chat_state.save_menu(ctx.chat, [])
