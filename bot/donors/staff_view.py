"""/camket for staff: pledges waiting for confirmation; mark received (amount, date) or lapsed.

The donor is told each time. Staff also read a donor's message to the family here and decide
whether it is passed on. Every decision is written to the audit log.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot import i18n
from bot.context import Context
from bot.core import Button, Reply
from bot.donors import cards, notify, staff_lines
from bot.donors.formtools import busy, open_form
from bot.forms import Replies
from bot.i18n import N_, _, t
from conversations.donor_forms import EXPECTED, PLEDGE_KIND, RECEIPT_FORM
from conversations.engine import FormState
from storage import audit, pledges
from storage.models import Person
from storage.pledges import Pledge

PAGE_SIZE = 8


async def _get(ctx: Context, key: str) -> Pledge | None:
    if key.isascii() and key.isdigit():
        return await ctx.session.get(Pledge, int(key))
    return await pledges.by_ref(ctx.session, key)


async def handle(ctx: Context, args: tuple[str, ...]) -> Replies:
    """/camket [page] · /camket <ref> · buttons m:camket:x|nhan|het|chuyen|giu:<id>[:ok]."""
    if not args:
        return await waiting(ctx, 1)
    action, rest = args[0].lower(), args[1:]
    if action.isdigit():
        return await waiting(ctx, int(action))
    if action in ("x", "nhan", "het", "chuyen", "giu") and rest:
        pledge = await _get(ctx, rest[0])
        if pledge is None:
            return [Reply(_("Không tìm thấy cam kết này.")), *await waiting(ctx, 1)]
        if action == "x":
            return [await detail(ctx, pledge)]
        if action == "nhan":
            return await start_receipt(ctx, pledge)
        if action == "het":
            return await lapse(ctx, pledge, confirmed=rest[1:] == ("ok",))
        return await decide_message(ctx, pledge, "passed" if action == "chuyen" else "withheld")
    pledge = await _get(ctx, args[0])
    if pledge is None:
        return [Reply(t(N_("Không tìm thấy cam kết «{ref}». Gõ /camket để xem danh sách."), ref=args[0][:20]))]
    return [await detail(ctx, pledge)]


async def waiting(ctx: Context, page: int) -> Replies:
    rows, total = await pledges.waiting(ctx.session, limit=PAGE_SIZE, offset=(max(1, page) - 1) * PAGE_SIZE)
    if total == 0:
        return [Reply(_("Không có cam kết nào đang chờ xác nhận."))]
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    if not rows:
        return await waiting(ctx, pages)
    lines = [t(N_("Cam kết chờ xác nhận: {total} (trang {page}/{pages}), cũ nhất trước:"), total=total, page=page, pages=pages)]
    buttons: list[tuple[Button, ...]] = []
    for pledge in rows:
        line = await staff_lines.line(ctx, pledge)
        if pledge.message_status == "pending":
            line += " · " + _("✉️ có lời nhắn chờ đọc")
        lines.append("• " + line)
        buttons.append((Button(t(N_("Xử lý {ref}"), ref=pledge.ref), f"m:camket:x:{pledge.id}"),))
    nav = []
    if page > 1:
        nav.append(Button(_("⬅️ Trang trước"), f"m:camket:{page - 1}"))
    if page < pages:
        nav.append(Button(_("Trang sau ➡️"), f"m:camket:{page + 1}"))
    if nav:
        buttons.append(tuple(nav))
    return [Reply("\n".join(lines), buttons=tuple(buttons))]


_STATUS = {"pending": N_("chờ xác nhận"), "received": N_("đã nhận"), "lapsed": N_("hết hạn")}
_MESSAGE_STATUS = {"pending": N_("chờ đọc"), "passed": N_("đã chuyển"), "withheld": N_("không chuyển")}


async def detail(ctx: Context, pledge: Pledge) -> Reply:
    line = await staff_lines.line(ctx, pledge)
    lines = [line, t(N_("Trạng thái: {status}"), status=_(_STATUS.get(pledge.status, pledge.status)))]
    if pledge.status == "received" and pledge.received_on is not None:
        lines.append(t(N_("Đã nhận {amount} ngày {day}"), amount=i18n.money(pledge.received_amount or 0), day=i18n.day(pledge.received_on)))
    if pledge.message:
        lines.append(t(N_("Lời nhắn tới gia đình ({status}): «{words}»"), status=_(_MESSAGE_STATUS.get(pledge.message_status, "")), words=pledge.message))
    rows: list[tuple[Button, ...]] = []
    if pledge.status == "pending":
        rows.append((Button(_("✅ Đã nhận"), f"m:camket:nhan:{pledge.id}"), Button(_("⌛ Hết hạn"), f"m:camket:het:{pledge.id}")))
    if pledge.message and pledge.message_status == "pending":
        rows.append((Button(_("✉️ Đã chuyển lời nhắn"), f"m:camket:chuyen:{pledge.id}"), Button(_("🚫 Không chuyển"), f"m:camket:giu:{pledge.id}")))
    rows.append((Button(_("📋 Danh sách chờ"), "m:camket"),))
    return Reply("\n".join(lines), buttons=tuple(rows))


async def start_receipt(ctx: Context, pledge: Pledge) -> Replies:
    if (refusal := busy(ctx)) is not None:
        return refusal
    if pledge.status != "pending":
        return [Reply(t(N_("Cam kết {ref} đã được xử lý rồi ({status})."), ref=pledge.ref, status=_(_STATUS.get(pledge.status, pledge.status))))]
    hidden = {PLEDGE_KIND: pledge.kind, EXPECTED: pledge.amount}
    intro = t(N_("Xác nhận đã nhận cho cam kết {ref}."), ref=pledge.ref)
    if pledge.amount:
        intro += " " + t(N_("Số đã cam kết: {amount}."), amount=i18n.money(pledge.amount))
    return await open_form(ctx, RECEIPT_FORM.id, hidden=hidden, meta={"pledge_id": pledge.id}, intro=intro)


async def receipt_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    pledge = await ctx.session.get(Pledge, int(state.meta["pledge_id"]))
    if pledge is None or pledge.status != "pending":
        return [Reply(_("Cam kết này đã được xử lý rồi, không ghi lại lần nữa."))]
    amount = answers.get("amount") if pledge.kind == "money" else answers.get("value")
    day = date.fromisoformat(answers["day"])
    await pledges.receive(ctx.session, pledge, amount=amount, on=day, actor_id=ctx.person.id, now=ctx.now)
    audit.record(ctx.session, "pledge_received", actor_id=ctx.person.id, case_id=pledge.case_id, detail=pledge.ref, now=ctx.now)
    await tell_donor(ctx, pledge, "received")
    # Support may have reached the child before the money reached us: thank now if so.
    await notify.settle(ctx.session, pledge.case_id, ctx.notify, settings=ctx.settings, now=ctx.now, delivered=False)
    got = i18n.money(pledge.received_amount or 0)
    return [Reply(t(N_("✅ Đã ghi nhận {ref}: {amount}, ngày {day}. Nhà hảo tâm đã được báo."), ref=pledge.ref, amount=got, day=i18n.day(day))),
            *await waiting(ctx, 1)]


async def receipt_cancelled(ctx: Context, state: FormState) -> Replies:
    return [Reply(_("Đã hủy, chưa ghi nhận gì.")), *await waiting(ctx, 1)]


async def lapse(ctx: Context, pledge: Pledge, *, confirmed: bool) -> Replies:
    if pledge.status != "pending":
        return [Reply(t(N_("Cam kết {ref} đã được xử lý rồi ({status})."), ref=pledge.ref, status=_(_STATUS.get(pledge.status, pledge.status))))]
    if not confirmed:
        text = t(N_("Đánh dấu cam kết {ref} là hết hạn (không nhận được)? Phần đã cam kết sẽ mở lại cho nhà hảo tâm khác, và nhà hảo tâm được báo."), ref=pledge.ref)
        return [Reply(text, buttons=((Button(_("Có, hết hạn"), f"m:camket:het:{pledge.id}:ok"), Button(_("Không"), f"m:camket:x:{pledge.id}")),))]
    await pledges.lapse(ctx.session, pledge, actor_id=ctx.person.id, now=ctx.now)
    audit.record(ctx.session, "pledge_lapsed", actor_id=ctx.person.id, case_id=pledge.case_id, detail=pledge.ref, now=ctx.now)
    await tell_donor(ctx, pledge, "lapsed")
    return [Reply(t(N_("Đã đánh dấu {ref} là hết hạn. Nhà hảo tâm đã được báo."), ref=pledge.ref)), *await waiting(ctx, 1)]


async def decide_message(ctx: Context, pledge: Pledge, status: str) -> Replies:
    if not pledge.message or pledge.message_status != "pending":
        return [await detail(ctx, pledge)]
    pledges.set_message_status(pledge, status, now=ctx.now)
    audit.record(ctx.session, f"pledge_message_{status}", actor_id=ctx.person.id, case_id=pledge.case_id, detail=pledge.ref, now=ctx.now)
    if status == "passed":
        await tell_donor(ctx, pledge, "message_passed")
    return [Reply(_("Đã ghi.")), await detail(ctx, pledge)]


async def tell_donor(ctx: Context, pledge: Pledge, what: str) -> None:
    """The donor hears about their pledge, in their language, through the outbox."""
    donor = await ctx.session.get(Person, pledge.donor_id)
    if donor is None or not donor.active:
        return
    kind = await staff_lines.need_kind(ctx, pledge.need_id)
    with i18n.use(donor.locale or ctx.settings.default_locale):
        need = cards.need_label(kind)
        if what == "received":
            assert pledge.received_on is not None
            text = t(N_("💛 {org} đã nhận {amount} cho cam kết {ref} («{need}») ngày {day}. Cảm ơn bạn! Khi hỗ trợ được trao tới trẻ, bạn sẽ được báo."),
                     org=ctx.settings.org_name, amount=_received_words(pledge), ref=pledge.ref, need=need, day=i18n.day(pledge.received_on))
        elif what == "lapsed":
            text = t(N_("Cam kết {ref} («{need}») đã được đóng vì {org} chưa nhận được. Nếu bạn đã chuyển, hãy liên hệ {org} kèm mã {ref} để được kiểm tra. Bạn vẫn có thể ủng hộ lại: /nhucau"),
                     ref=pledge.ref, need=need, org=ctx.settings.org_name)
        else:
            text = t(N_("✉️ Lời nhắn của bạn trong cam kết {ref} đã được chuyển tới gia đình trẻ."), ref=pledge.ref)
        ctx.notify(donor, Reply(text, buttons=((Button(_("📋 Cam kết của tôi"), "m:daungho"),),)))


def _received_words(pledge: Pledge) -> str:
    if pledge.kind == "goods":
        goods = f"{pledge.quantity} × {pledge.goods}"
        return goods + (f" ({i18n.money(pledge.received_amount)})" if pledge.received_amount else "")
    return i18n.money(pledge.received_amount or 0)
