"""What everyone can do: /start (with an invite code), /trogiup, /ngonngu, and the role menus."""

from __future__ import annotations

from bot import commands, i18n
from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.donors import menu as donor_menu
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.staff import menu as staff_menu
from conversations.parsing import places
from storage import people


def menu(ctx: Context) -> Reply:
    """The main menu for the person's role: buttons on Telegram, numbers everywhere."""
    role = ctx.person.role
    rows: list[tuple[Button, ...]] = []
    if role in ("collaborator", "staff"):
        rows += [
            (Button(_("📝 Báo cáo trẻ cần bảo vệ"), "m:baocao"),),
            (Button(_("📋 Báo cáo của tôi"), "m:cuatoi"),),
        ]
    if role == "staff":
        rows = staff_menu.rows(ctx) + rows
        text = t(N_("Chung Tay · {org}. Bạn là cán bộ. Chọn việc cần làm:"), org=ctx.settings.org_name)
    elif role == "collaborator":
        text = _("Chung Tay. Bạn là cộng tác viên bảo vệ trẻ em. Chọn việc cần làm:")
    else:  # guests and donors (issue 5): bot/donors/menu.py
        text = donor_menu.text(ctx)
        rows += donor_menu.rows(ctx)
    rows += [(Button(_("❓ Trợ giúp"), "m:trogiup"), Button(_("🌐 Ngôn ngữ"), "m:ngonngu"))]
    return Reply(text, buttons=tuple(rows))


def help_text(ctx: Context) -> Reply:
    lines = [_("Các lệnh:")]
    if ctx.person.role in ("collaborator", "staff"):
        lines += [_("/baocao — báo cáo một trẻ em cần bảo vệ"), _("/cuatoi — các báo cáo của bạn"), _("/huy — dừng báo cáo đang điền")]
    else:  # guests and donors (issue 5)
        lines += donor_menu.help_lines(ctx)
    if ctx.person.role == "staff":  # every staff command, from the registry, with its description
        shown = {"baocao", "cuatoi", "huy", "ngonngu", "start", "trogiup"}
        lines.append(_("Lệnh của cán bộ:"))
        lines += [f"/{c.name} — {_(c.description or c.name)}" for c in commands.for_role("staff") if c.name not in shown and "staff" in c.roles and "collaborator" not in c.roles]
    linking = commands.lookup("lienket")  # bot/roles/linking.py: registered in every mode
    if linking is not None and ctx.person.role in linking.roles:
        lines.append(_("/lienket — dùng cùng một tài khoản trên cả Zalo và Telegram (liên kết hai tài khoản)"))
    lines += [_("/ngonngu — đổi ngôn ngữ (Tiếng Việt / English)"), _("/start — về menu chính")]
    lines.append(_("Trong một câu hỏi: gõ số thứ tự hoặc tên lựa chọn (không dấu cũng được); gõ «quay lại» để sửa câu trước, «bỏ qua» cho câu không bắt buộc."))
    lines.append(t(N_("Trẻ đang gặp nguy hiểm: gọi ngay {hotline} (miễn phí, 24/7) hoặc {police}."), hotline=ctx.settings.hotline, police=ctx.settings.police))
    return Reply("\n".join(lines))


@command("start")
async def start(ctx: Context) -> Replies:
    """/start, or /start <invite code> from a deep link."""
    if ctx.event.args:
        code = ctx.event.args[0]
        invite = await people.redeem_invite(ctx.unit, ctx.person, code, now=ctx.now)
        if invite is None:
            return [Reply(_("Mã mời này không đúng, đã được dùng hoặc đã hết hạn (mã có hạn 7 ngày). Hãy xin cán bộ một mã mới.")), menu(ctx)]
        place = f"{places.ward(invite.commune_code).name}, {places.province(invite.province_code).name}"
        welcome = t(N_("Chào mừng bạn tham gia mạng lưới cộng tác viên bảo vệ trẻ em của {place}."), place=place)
        return [Reply(welcome), menu(ctx)]
    return [menu(ctx)]


@command("trogiup", "help", "menu", description=N_("Trợ giúp và menu chính"))
async def help_command(ctx: Context) -> Replies:
    return [help_text(ctx), menu(ctx)]


@command("ngonngu", "language", "lang", description=N_("Đổi ngôn ngữ (Tiếng Việt / English)"))
async def language(ctx: Context) -> Replies:
    """/ngonngu [vi|en]: without an argument, offer both."""
    choice = (ctx.event.args[0].lower() if ctx.event.args else "")[:2]
    if choice in ("vi", "en"):
        ctx.person.locale = choice
        ctx.lang = choice
        with i18n.use(choice):
            return [Reply(_("Đã chuyển sang Tiếng Việt.")), menu(ctx)]
    buttons = ((Button("Tiếng Việt", "m:ngonngu:vi"), Button("English", "m:ngonngu:en")),)
    return [Reply(_("Chọn ngôn ngữ:"), buttons=buttons)]
