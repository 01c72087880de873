"""Pledging from a card: choose a need, money or goods, a message, confirm; then how to pay.

The amount is claimed at confirmation with the atomic guard in storage.pledges.reserve: when
someone else took the last part first, the donor is told, offered what is left or another child,
and nothing is recorded.
"""

from __future__ import annotations

import logging
from typing import Any

from bot import i18n
from bot.context import Context
from bot.core import Button, Reply
from bot.donors import browse, cards, payment, staff_lines
from bot.donors.formtools import busy, open_form
from bot.forms import Replies
from bot.i18n import N_, _, t
from conversations.donor_forms import ASK_PHONE, CAP, PLEDGE_FORM
from conversations.engine import FormState
from storage import anonymise, people, pledges
from storage.anonymise import CardNeed, DonorCard
from storage.pledges import Pledge

log = logging.getLogger(__name__)


def not_found(code: str) -> Reply:
    text = t(N_("Không tìm thấy trẻ mã «{code}», hoặc nhu cầu của trẻ đã khép lại. Xem các nhu cầu đang cần: /nhucau"), code=code[:20])
    return Reply(text, buttons=((Button(_("🔎 Xem nhu cầu"), "m:nhucau"),),))


def need_button(card: DonorCard, need: CardNeed) -> Button:
    label = f"{cards.NEED_ICONS.get(need.kind, '•')} {cards.need_label(need.kind)} — {cards.remaining_words(need)}"
    return Button(label, f"m:ungho:{card.code}:{need.need_id}")


async def choose(ctx: Context, code: str, need_id: str | None = None) -> Replies:
    """/ungho <code> [need]: show the child's needs, or open the pledge form for one of them."""
    if (refusal := busy(ctx)) is not None:
        return refusal
    found = await anonymise.card_by_code(ctx.session, code, ctx.today)
    if found is None:
        return [not_found(code)]
    case_id, card = found
    open_needs = card.open_needs
    if not open_needs:
        return [Reply(_("Các nhu cầu của trẻ này vừa được cam kết đủ. Cảm ơn tấm lòng của bạn!")), *await offer_another(ctx, case_id, None)]
    if need_id is None and len(open_needs) > 1:
        text = cards.render(card, ctx.now) + "\n\n" + _("Bạn muốn ủng hộ nhu cầu nào?")
        return [Reply(text, buttons=tuple((need_button(card, n),) for n in open_needs))]
    need = open_needs[0] if need_id is None else next((n for n in open_needs if str(n.need_id) == need_id), None)
    if need is None:
        return [Reply(_("Nhu cầu này vừa được cam kết đủ. Trẻ vẫn còn nhu cầu khác:")), *await choose(ctx, code)]
    return await start_form(ctx, case_id, card, need)


async def start_form(ctx: Context, case_id: int, card: DonorCard, need: CardNeed) -> Replies:
    hidden: dict[str, Any] = {}
    if need.amount is not None:
        hidden[CAP] = need.remaining
        hidden[ASK_PHONE] = not payment.configured(ctx.settings)
    meta = {"case_id": case_id, "need_id": need.need_id, "code": card.code, "kind": need.kind}
    intro = t(N_("Ủng hộ «{need}» cho trẻ {code} ({who}, {place}): {remaining}."), need=cards.need_label(need.kind),
              code=cards.shown_code(card.code), who=cards.who(card), place=cards.place(card), remaining=cards.remaining_words(need))
    return await open_form(ctx, PLEDGE_FORM.id, hidden=hidden, meta=meta, intro=intro)


async def capped(ctx: Context, state: FormState) -> tuple[FormState, Replies]:
    """The donor offered more than the need lacks: say what was kept and where the rest can go."""
    value = state.answers.get("amount") or {}
    rest = int(value.get("asked", 0)) - int(value.get("amount", 0))
    text = t(N_("Nhu cầu này chỉ còn thiếu {amount}, nên cam kết của bạn được ghi là {amount}. Phần còn lại ({rest}) bạn có thể ủng hộ một trẻ khác sau khi xác nhận."),
             amount=i18n.money(int(value.get("amount", 0))), rest=i18n.money(rest))
    return state, [Reply(text)]


async def submit(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    """Confirmed: claim the amount atomically, record the pledge, say how to pay, tell staff."""
    meta = state.meta
    case_id, need_id, code = int(meta["case_id"]), int(meta["need_id"]), str(meta["code"])
    found = await anonymise.card_by_code(ctx.session, code, ctx.today)
    need = next((n for n in found[1].needs if n.need_id == need_id), None) if found else None
    if found is None or need is None:
        return [Reply(_("Rất tiếc, nhu cầu này vừa khép lại nên cam kết chưa được ghi. Cảm ơn tấm lòng của bạn!")), *await offer_another(ctx, case_id, meta.get("kind"))]
    assert ctx.person.id is not None
    phone = answers.get("phone")
    message = answers.get("message")
    money = answers.get("kind") == "money"
    amount = int(answers["amount"]["amount"]) if money else 0
    if not need.open:
        return await race_lost(ctx, case_id, code, need_id, amount, meta.get("kind"))
    if money:
        if not await pledges.reserve(ctx.session, need_id, amount):
            return await race_lost(ctx, case_id, code, need_id, amount, meta.get("kind"))
        pledge = await pledges.create(ctx.session, donor_id=ctx.person.id, case_id=case_id, need_id=need_id, kind="money",
                                      amount=amount, contact=phone, message=message, now=ctx.now)
    else:
        pledge = await pledges.create(ctx.session, donor_id=ctx.person.id, case_id=case_id, need_id=need_id, kind="goods",
                                      goods=answers.get("goods"), quantity=answers.get("quantity"), contact=phone,
                                      message=message, now=ctx.now)
    log.info("pledge recorded: ref=%s kind=%s", pledge.ref, pledge.kind)
    await notify_staff(ctx, pledge)
    return await receipt(ctx, pledge, answers, found[1], need)


async def cancelled(ctx: Context, state: FormState) -> Replies:
    return [Reply(_("Đã hủy, chưa có cam kết nào được ghi. Xem trẻ khác đang cần giúp: /nhucau"))]


async def receipt(ctx: Context, pledge: Pledge, answers: dict[str, Any], card: DonorCard, need: CardNeed) -> Replies:
    what = cards.need_label(need.kind)
    if pledge.kind == "money":
        assert pledge.amount is not None
        head = t(N_("✅ Cảm ơn bạn! Đã ghi cam kết {ref}: {amount} cho «{need}» của trẻ {code}."), ref=pledge.ref,
                 amount=i18n.money(pledge.amount), need=what, code=cards.shown_code(card.code))
        replies = [Reply(head), *payment.instructions(ctx.settings, pledge, phone=pledge.contact)]
    else:
        head = t(N_("✅ Cảm ơn bạn! Đã ghi cam kết {ref}: {quantity} × {goods} cho «{need}» của trẻ {code}."), ref=pledge.ref,
                 quantity=pledge.quantity, goods=pledge.goods, need=what, code=cards.shown_code(card.code))
        if pledge.contact:
            how = t(N_("Cán bộ {org} sẽ gọi cho bạn để hẹn nhận hiện vật."), org=ctx.settings.org_name)
        else:
            how = t(N_("Hãy gửi hoặc mang hiện vật tới {org}, kèm mã {ref}."), org=ctx.settings.org_name, ref=pledge.ref)
        replies = [Reply(head + "\n" + how)]
    after = []
    if pledge.message:
        after.append(_("Lời nhắn của bạn sẽ được cán bộ đọc trước khi chuyển tới gia đình."))
    after.append(_("Khi cán bộ nhận được, bạn sẽ được báo. Xem các cam kết của bạn: /daungho"))
    amount = answers.get("amount") or {}
    rest = int(amount.get("asked", 0)) - int(amount.get("amount", 0)) if amount else 0
    buttons: tuple[tuple[Button, ...], ...] = ((Button(_("📋 Cam kết của tôi"), "m:daungho"), Button(_("🔎 Xem nhu cầu khác"), "m:nhucau")),)
    if rest > 0:
        after.append(t(N_("Bạn còn muốn ủng hộ {rest} cho nhu cầu khác? Chọn ở danh sách nhu cầu."), rest=i18n.money(rest)))
    replies.append(Reply("\n".join(after), buttons=buttons))
    return replies


async def race_lost(ctx: Context, case_id: int, code: str, need_id: int, amount: int, kind: str | None) -> Replies:
    """Someone else pledged first: say so, and offer what is left or another child."""
    left = await pledges.remaining(ctx.session, need_id)
    if left:
        text = t(N_("Trong lúc bạn xác nhận, nhà hảo tâm khác đã cam kết trước: nhu cầu này giờ chỉ còn thiếu {left}, chưa đủ cho {amount} của bạn. Cam kết của bạn chưa được ghi."),
                 left=i18n.money(left), amount=i18n.money(amount))
        buttons = ((Button(t(N_("💛 Cam kết {left}"), left=i18n.money(left)), f"m:ungho:{code}:{need_id}"),),)
        return [Reply(text, buttons=buttons), *await offer_another(ctx, case_id, kind)]
    text = _("Nhu cầu này vừa được nhà hảo tâm khác cam kết đủ ngay trước bạn, nên cam kết của bạn chưa được ghi. Cảm ơn tấm lòng của bạn!")
    return [Reply(text), *await offer_another(ctx, case_id, kind)]


async def offer_another(ctx: Context, exclude_case: int | None, kind: str | None) -> Replies:
    found = await browse.another(ctx, exclude_case=exclude_case, kind=kind)
    if found is None:
        return [Reply(_("Hiện chưa có trẻ nào khác đang chờ. Chúng tôi sẽ báo khi có nhu cầu mới (bản tin tháng: /caidat)."))]
    _case_id, card = found
    text = _("Một trẻ khác đang cần giúp:") + "\n\n" + cards.render(card, ctx.now)
    buttons = ((Button(t(N_("💛 Ủng hộ {code}"), code=cards.shown_code(card.code)), f"m:ungho:{card.code}"),),
               (Button(_("🔎 Xem tất cả nhu cầu"), "m:nhucau"),))
    return [Reply(text, buttons=buttons)]


async def notify_staff(ctx: Context, pledge: Pledge) -> None:
    """Every staff member hears of a new pledge, with the case number they work with."""
    for member in await people.staff(ctx.session):
        with i18n.use(member.locale or ctx.settings.default_locale):
            text = _("💛 Cam kết mới, chờ xác nhận:") + "\n" + await staff_lines.line(ctx, pledge)
            if pledge.kind == "money" and not payment.configured(ctx.settings):
                text += "\n" + _("Chưa cấu hình tài khoản nhận ủng hộ (BANK_BIN, BANK_ACCOUNT): hãy liên hệ nhà hảo tâm để hướng dẫn chuyển tiền.")
            ctx.notify(member, Reply(text, buttons=((Button(_("Xử lý"), f"m:camket:x:{pledge.id}"),),)))
