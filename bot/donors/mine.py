"""A donor's own pledges: status, the transfer details again, the thank-you certificate."""

from __future__ import annotations

from sqlmodel import col, select

from bot import i18n
from bot.context import Context
from bot.core import Button, Reply
from bot.donors import cards, certificate, payment
from bot.forms import Replies
from bot.i18n import N_, _, t
from storage import anonymise, donors, pledges
from storage.models import Need
from storage.pledges import Pledge


def status_words(pledge: Pledge) -> str:
    if pledge.thanked_at is not None:
        return _("🎉 hỗ trợ đã tới tay trẻ")
    if pledge.status == "received":
        day = i18n.day(pledge.received_on) if pledge.received_on else ""
        if pledge.kind == "money":
            return t(N_("✅ đã nhận {amount} ngày {day}"), amount=i18n.money(pledge.received_amount or 0), day=day)
        return t(N_("✅ đã nhận hiện vật ngày {day}"), day=day)
    if pledge.status == "lapsed":
        return _("✖️ đã đóng (không nhận được)")
    return _("⏳ chờ chuyển khoản") if pledge.kind == "money" else _("⏳ chờ nhận hiện vật")


async def _kinds(ctx: Context, need_ids: list[int]) -> dict[int, str]:
    rows = await ctx.session.exec(select(Need.id, Need.kind).where(col(Need.id).in_(need_ids)))
    return {need_id: kind for need_id, kind in rows}


async def donor_pledges(ctx: Context) -> Replies:
    """/cuatoi (for a donor) and /daungho: the pledges, newest first, with what to do next."""
    assert ctx.person.id is not None
    mine = await pledges.of_donor(ctx.session, ctx.person.id)
    if not mine:
        return [Reply(_("Bạn chưa có cam kết nào. Xem trẻ đang cần giúp: /nhucau"), buttons=((Button(_("🔎 Xem nhu cầu"), "m:nhucau"),),))]
    kinds = await _kinds(ctx, [p.need_id for p in mine])
    codes = await anonymise.codes_for(ctx.session, sorted({p.case_id for p in mine}))
    lines = [t(N_("Cam kết của bạn ({n} gần nhất):"), n=len(mine))]
    rows: list[tuple[Button, ...]] = []
    for pledge in mine:
        what = i18n.money(pledge.amount or 0) if pledge.kind == "money" else f"{pledge.quantity} × {pledge.goods}"
        day = i18n.day(pledge.created_at.astimezone(i18n.VN_TZ).date())
        need = cards.need_label(kinds.get(pledge.need_id, "other"))
        lines.append(f"• {pledge.ref} · {day} · {what} · {need} · {cards.shown_code(codes[pledge.case_id])} — {status_words(pledge)}")
        if pledge.thanked_at is not None:
            rows.append((Button(t(N_("📜 Giấy cảm ơn {ref}"), ref=pledge.ref), f"m:giaycamon:{pledge.ref}"),))
        elif pledge.status == "pending" and pledge.kind == "money" and payment.configured(ctx.settings):
            rows.append((Button(t(N_("💳 Chuyển khoản {ref}"), ref=pledge.ref), f"m:chuyenkhoan:{pledge.ref}"),))
    rows.append((Button(_("🔎 Xem nhu cầu"), "m:nhucau"),))
    return [Reply("\n".join(lines), buttons=tuple(rows))]


async def _own(ctx: Context, ref: str | None) -> Pledge | None:
    if not ref:
        return None
    pledge = await pledges.by_ref(ctx.session, ref)
    return pledge if pledge is not None and pledge.donor_id == ctx.person.id else None


async def pay_again(ctx: Context, ref: str | None) -> Replies:
    """/chuyenkhoan <ref>: the transfer details and VietQR of a pending money pledge."""
    pledge = await _own(ctx, ref)
    if pledge is None:
        return [Reply(_("Không tìm thấy cam kết này trong các cam kết của bạn. Xem: /daungho"))]
    if pledge.kind != "money" or pledge.status != "pending":
        return [Reply(t(N_("Cam kết {ref} không còn chờ chuyển khoản: {status}."), ref=pledge.ref, status=status_words(pledge)))]
    return [Reply(t(N_("Cam kết {ref}: {amount}."), ref=pledge.ref, amount=i18n.money(pledge.amount or 0))),
            *payment.instructions(ctx.settings, pledge, phone=pledge.contact)]


async def certificate_file(ctx: Context, ref: str | None) -> Replies:
    """/giaycamon <ref>: the thank-you certificate, once the support reached the child."""
    pledge = await _own(ctx, ref)
    if pledge is None:
        return [Reply(_("Không tìm thấy cam kết này trong các cam kết của bạn. Xem: /daungho"))]
    if pledge.thanked_at is None:
        return [Reply(_("Giấy cảm ơn có khi hỗ trợ đã được trao tới trẻ. Chúng tôi sẽ báo bạn ngay lúc đó."))]
    assert ctx.person.id is not None
    profile = await donors.get(ctx.session, ctx.person.id)
    kind = (await _kinds(ctx, [pledge.need_id])).get(pledge.need_id, "other")
    png = certificate.render(name=profile.display_name if profile else None, org=ctx.settings.org_name,
                             day=pledge.thanked_at.astimezone(i18n.VN_TZ).date(), need=cards.need_label(kind), ref=pledge.ref)
    return [Reply(_("📜 Giấy cảm ơn của bạn. Cảm ơn bạn đã chung tay vì trẻ em!"), document=(f"giay-cam-on-{pledge.ref}.png", png))]
