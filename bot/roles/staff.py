"""Staff: review queue, risk and deadlines, summaries, charts, exports, outreach, audit (issue 4).

The commands live in bot/staff/ (one module per kind of work); importing it registers them, with
roles={"staff"} so the router refuses everyone else politely and writes the attempt to the audit
log. /canbo is the staff menu.
"""

from __future__ import annotations

import bot.staff  # noqa: F401 - registers the staff commands, forms and daily jobs
from bot.commands import command
from bot.context import Context
from bot.core import Reply
from bot.forms import Replies
from bot.i18n import N_, t
from bot.staff import menu


@command("canbo", "staffmenu", roles={"staff"}, description=N_("Các việc của cán bộ"))
async def staff_menu(ctx: Context) -> Replies:
    text = t(N_("Chung Tay · {org}. Việc của cán bộ:"), org=ctx.settings.org_name)
    return [Reply("\n".join([text, *menu.help_lines(ctx)]), buttons=tuple(menu.rows(ctx)))]
