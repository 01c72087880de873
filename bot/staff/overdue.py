"""Deadlines (Decree 56/2017): a child in danger must be acted on within 12 hours; a verified case
needs its support plan within 5 working days. /quahan lists what is late and what falls due in
the next day; every morning at 7 the same list goes to each staff member."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import i18n
from bot.commands import command
from bot.context import Context
from bot.core import Button
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.jobs import daily
from bot.staff.common import case_place, groups_text, split
from bot.staff.review import time_left
from storage import outbox, people, review
from storage.review import Overdue

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

SOON = timedelta(hours=24)
MAX_BUTTONS = 10
KIND = {"emergency": N_("🚨 Khẩn cấp 12 giờ"), "plan": N_("📝 Kế hoạch hỗ trợ 5 ngày làm việc")}


def item_line(item: Overdue, now: datetime) -> str:
    case = item.case
    return f"{_(KIND[item.kind])} · {case.code} · {case_place(case)} · {groups_text(case.groups)} · {i18n.moment(item.deadline)} ({time_left(item.deadline, now)})"


def overdue_lines(items: list[Overdue], now: datetime) -> list[str]:
    late = [i for i in items if review.late(i, now)]
    soon = [i for i in items if not review.late(i, now)]
    lines = [t(N_("⏰ Quá hạn: {n}"), n=len(late))]
    lines += [item_line(i, now) for i in late] or [_("Không có việc nào quá hạn. 👍")]
    if soon:
        lines.append(t(N_("Sắp đến hạn (trong 24 giờ): {n}"), n=len(soon)))
        lines += [item_line(i, now) for i in soon]
    return lines


def overdue_buttons(items: list[Overdue]) -> tuple[tuple[Button, ...], ...]:
    seen: dict[str, Button] = {}
    for item in items:
        seen.setdefault(item.case.code, Button(("🚨 " if item.kind == "emergency" else "📁 ") + item.case.code, f"m:hoso:{item.case.code}"))
    return tuple((b,) for b in list(seen.values())[:MAX_BUTTONS])


@command("quahan", "overdue", roles={"staff"}, description=N_("Việc quá hạn và sắp đến hạn"))
async def overdue(ctx: Context) -> Replies:
    items = await review.overdue(ctx.session, ctx.now, soon=SOON)
    return split(overdue_lines(items, ctx.now), overdue_buttons(items))


@daily("overdue_digest", hour=7)
async def morning_digest(app: App, now: datetime) -> None:
    """Each morning: what is late, to every active staff member, in their language."""
    async with app.db.transaction() as session:
        items = [i for i in await review.overdue(session, now) if review.late(i, now)]
        if not items:
            return
        # bot.app imports the router, which imports this module: import it when used
        from bot.app import reply_to_payload

        for member in await people.staff(session):
            with i18n.use(member.locale or app.settings.default_locale):
                lines = [t(N_("☀️ Chào buổi sáng. Có {n} việc quá hạn cần xử lý hôm nay:"), n=len(items))]
                lines += [item_line(i, now) for i in items]
                for reply in split(lines, overdue_buttons(items)):
                    outbox.enqueue(session, member.channel, member.chat_id, reply_to_payload(reply), kind="digest", now=now)
        log.info("overdue digest: %d items to staff", len(items))
    app.outbox_ready.set()
