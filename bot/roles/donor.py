"""Donors: browse anonymised needs, pledge, pay by VietQR, hear back (issue 5).

Anyone who is not staff or a collaborator is a donor: a guest who asks for a donor command is
registered first (two questions), then gets what they asked for. Staff confirm pledges with
/camket. The work is done in bot/donors/; this module declares the commands and forms.
"""

from __future__ import annotations

from bot import forms
from bot.commands import command
from bot.context import Context
from bot.core import Reply
from bot.donors import browse, mine, notify, pledging, profile, staff_view
from bot.forms import FormSpec, Replies
from bot.i18n import N_, _
from conversations.donor_forms import CAPPED, PLEDGE_FORM, PROVINCES_FORM, RECEIPT_FORM, SIGNUP_FORM

DONOR_SIDE = {"guest", "donor"}

__all__ = ["donor_pledges", "notify"]  # notify registers the daily donor jobs when imported


def _args(ctx: Context) -> tuple[str, ...]:
    return ctx.event.args


def _guest(ctx: Context) -> bool:
    return ctx.person.role == "guest"


@command("dangky", "register", "signup", roles=DONOR_SIDE, description=N_("Đăng ký nhà hảo tâm"), works_in_form=False)
async def register(ctx: Context) -> Replies:
    return await profile.signup(ctx)


@command("nhucau", "needs", "browse", roles=DONOR_SIDE | {"staff"}, description=N_("Xem nhu cầu của trẻ (đã ẩn danh)"))
async def needs(ctx: Context) -> Replies:
    """/nhucau [bộ lọc] [trang]. Staff see exactly what donors see."""
    if _guest(ctx):
        return await profile.signup(ctx, ["nhucau", *_args(ctx)])
    return await browse.page(ctx, _args(ctx))


@command("ungho", "pledge", "donate", roles=DONOR_SIDE, description=N_("Ủng hộ một trẻ theo mã"), works_in_form=False)
async def pledge(ctx: Context) -> Replies:
    """/ungho <mã trẻ> [nhu cầu]."""
    args = _args(ctx)
    if not args:
        return [Reply(_("Hãy gõ mã của trẻ, ví dụ: /ungho TE-K7M3QD. Xem các mã: /nhucau"))]
    if _guest(ctx):
        return await profile.signup(ctx, ["ungho", *args[:2]])
    return await pledging.choose(ctx, args[0], args[1] if len(args) > 1 else None)


async def donor_pledges(ctx: Context) -> list[Reply]:
    """A donor's pledges with status (what /cuatoi shows a donor)."""
    if _guest(ctx):
        return await profile.signup(ctx, ["daungho"])
    return await mine.donor_pledges(ctx)


@command("daungho", "mypledges", roles=DONOR_SIDE, description=N_("Các cam kết ủng hộ của tôi"))
async def my_pledges(ctx: Context) -> Replies:
    return await donor_pledges(ctx)


@command("chuyenkhoan", "pay", roles={"donor"})
async def pay(ctx: Context) -> Replies:
    """/chuyenkhoan <mã cam kết>: the transfer details and VietQR again."""
    return await mine.pay_again(ctx, _args(ctx)[0] if _args(ctx) else None)


@command("giaycamon", "certificate", roles={"donor"})
async def certificate(ctx: Context) -> Replies:
    """/giaycamon <mã cam kết>: the thank-you certificate (PNG)."""
    return await mine.certificate_file(ctx, _args(ctx)[0] if _args(ctx) else None)


@command("caidat", "settings", roles=DONOR_SIDE, description=N_("Cài đặt: tên, ngôn ngữ, bản tin tháng"))
async def settings(ctx: Context) -> Replies:
    return await profile.settings_view(ctx, _args(ctx))


@command("tatthongbao", "unsubscribe", roles=DONOR_SIDE, description=N_("Tắt mọi thông báo"))
async def notifications_off(ctx: Context) -> Replies:
    return await profile.notifications(ctx, on=False)


@command("batthongbao", "subscribe", roles=DONOR_SIDE)
async def notifications_on(ctx: Context) -> Replies:
    return await profile.notifications(ctx, on=True)


@command("camket", "pledges", roles={"staff"}, description=N_("Cam kết ủng hộ chờ xác nhận"))
async def confirm_pledges(ctx: Context) -> Replies:
    """/camket [trang | mã cam kết]: received (amount, date) or lapsed; the donor is told."""
    return await staff_view.handle(ctx, _args(ctx))


forms.register(FormSpec(SIGNUP_FORM, on_done=profile.signup_done, on_cancel=profile.signup_cancelled, effects={}))
forms.register(FormSpec(PLEDGE_FORM, on_done=pledging.submit, on_cancel=pledging.cancelled, effects={CAPPED: pledging.capped}))
forms.register(FormSpec(PROVINCES_FORM, on_done=profile.provinces_done, on_cancel=profile.provinces_cancelled, effects={}))
forms.register(FormSpec(RECEIPT_FORM, on_done=staff_view.receipt_done, on_cancel=staff_view.receipt_cancelled, effects={}))
