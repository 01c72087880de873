"""Account linking (Telegram <-> Zalo) and /id, for every role on every channel.

/lienket shows a one-time code on one app and redeems it on the other, so one person keeps one
role, place and list of reports on both; /id tells an administrator what to put in STAFF_IDS.
These read and write the database, so they live here and not in a channel module (channels
only translate; see DESIGN.md). The router imports this module in every mode.
"""

from __future__ import annotations

from bot import i18n
from bot.commands import command
from bot.context import Context
from bot.core import Reply
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.roles import common
from conversations.parsing import places
from conversations.parsing.text import fold
from storage import audit, links

CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo"}
ROLE_NAMES = {"guest": N_("khách"), "donor": N_("nhà hảo tâm"), "collaborator": N_("cộng tác viên"), "staff": N_("cán bộ")}
UNLINK_WORDS = frozenset({"huy", "bo", "unlink", "cancel", "remove"})


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


@command("lienket", "link", description=N_("Liên kết tài khoản Zalo với Telegram"))
async def link_accounts(ctx: Context) -> Replies:
    """/lienket: show a one-time code; /lienket <mã>: link this account to the one that showed
    it; /lienket huy: undo the link."""
    arg = ctx.event.args[0] if ctx.event.args else ""
    if fold(arg) in UNLINK_WORDS:
        return await _unlink(ctx)
    if arg:
        return await _redeem(ctx, arg)
    assert ctx.person.id is not None
    other = await links.linked(ctx.session, ctx.person.id)
    if other is not None:
        return [Reply(t(N_("Tài khoản này đã liên kết với tài khoản {channel} của bạn. Gõ /lienket huy để bỏ liên kết."), channel=channel_name(other.channel)))]
    code = await links.create_code(ctx.session, ctx.person, now=ctx.now)
    audit.record(ctx.session, "link:code", actor_id=ctx.person.id, now=ctx.now)
    minutes = int(links.CODE_LIFETIME.total_seconds() // 60)
    return [Reply(t(N_("🔗 Mã liên kết của bạn: {code}\nMở Chung Tay trên ứng dụng kia (Zalo hoặc Telegram) và gõ:\n/lienket {code}\nMã dùng được một lần, trong {minutes} phút. Tài khoản gõ mã sẽ có cùng vai trò và địa bàn với tài khoản này, và /cuatoi sẽ liệt kê báo cáo của cả hai. Đừng đưa mã cho người khác."), code=code, minutes=minutes))]


async def _redeem(ctx: Context, code: str) -> Replies:
    result = await links.redeem(ctx.session, ctx.person, code, now=ctx.now)
    if result.status != "linked" or result.other is None:
        audit.record(ctx.session, f"link:refused:{result.status}", actor_id=ctx.person.id, now=ctx.now)
        if result.status == "same_channel":
            return [Reply(t(N_("Mã này được tạo trên chính {channel}. Hãy gõ mã trên ứng dụng kia (Zalo hoặc Telegram)."), channel=channel_name(ctx.person.channel)))]
        if result.status == "taken":
            return [Reply(_("Một trong hai tài khoản đã liên kết với tài khoản khác. Gõ /lienket huy trên tài khoản đó trước, rồi lấy mã mới."))]
        return [Reply(_("Mã liên kết không đúng, đã dùng hoặc đã hết hạn. Gõ /lienket trên ứng dụng kia để lấy mã mới."))]
    other = result.other
    audit.record(ctx.session, "link", actor_id=ctx.person.id, detail=f"{other.channel}:{other.id}", now=ctx.now)
    with i18n.use(other.locale or ctx.settings.default_locale):
        ctx.notify(other, Reply(t(N_("🔗 Tài khoản này vừa được liên kết với tài khoản {channel} của bạn. Nếu không phải bạn làm, hãy gõ ngay /lienket huy."), channel=channel_name(ctx.person.channel))))
    return [Reply(t(N_("✅ Đã liên kết với tài khoản {channel} của bạn. Vai trò ở đây: {role}{place}."), channel=channel_name(other.channel), role=_(ROLE_NAMES.get(ctx.person.role, ctx.person.role)), place=_place(ctx))), common.menu(ctx)]


def _place(ctx: Context) -> str:
    """", <ward>" for a person with a commune, for the confirmation; nothing otherwise."""
    if ctx.person.commune_code is None:
        return ""
    try:
        return f", {places.ward(ctx.person.commune_code).name}"
    except KeyError:
        return ""


async def _unlink(ctx: Context) -> Replies:
    other = await links.unlink(ctx.session, ctx.person)
    if other is None:
        return [Reply(_("Tài khoản này chưa liên kết với tài khoản nào."))]
    audit.record(ctx.session, "unlink", actor_id=ctx.person.id, detail=f"{other.channel}:{other.id}", now=ctx.now)
    with i18n.use(other.locale or ctx.settings.default_locale):
        ctx.notify(other, Reply(t(N_("🔗 Đã bỏ liên kết với tài khoản {channel}. Tài khoản nào đã nhận vai trò qua liên kết thì trở về vai trò cũ."), channel=channel_name(ctx.person.channel))))
    return [Reply(t(N_("Đã bỏ liên kết với tài khoản {channel}. Tài khoản nào đã nhận vai trò qua liên kết thì trở về vai trò cũ."), channel=channel_name(other.channel))), common.menu(ctx)]


@command("id", "whoami")
async def whoami(ctx: Context) -> Replies:
    """The channel's id of this person: what an administrator puts in STAFF_IDS."""
    entry = ctx.event.user if ctx.event.channel == "telegram" else f"{ctx.event.channel}:{ctx.event.user}"
    return [Reply(t(N_("Mã của bạn trên {channel}: {entry}\n(Quản trị viên dùng mã này để cấp quyền cán bộ trong STAFF_IDS.)"), channel=channel_name(ctx.event.channel), entry=entry))]
