"""Donors hear back: a thank-you when what they funded reached the child, an update when a case
they funded is closed, and (if they asked) a monthly digest of new needs in their provinces.

The staff side calls `on_support_delivered` when it records support delivered; a daily sweep
catches what it did not (a case marked supported or closed). Both are idempotent: a pledge is
thanked once. Nothing is sent to someone who turned messages off (/tatthongbao), but their
certificate stays downloadable. No message carries anything of the child beyond the donor card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import i18n
from bot.context import Context
from bot.core import Button, Reply
from bot.donors import cards
from bot.i18n import N_, _, t
from bot.jobs import daily
from bot.settings import Settings
from conversations.parsing import places
from storage import anonymise, donors, outbox, pledges
from storage.models import Case, Need, Person, utcnow
from storage.pledges import Pledge
from storage.support import SupportDelivery

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

DELIVERED_CASE_STATUSES = ("supported",)
DELIVERED_NEED_STATUSES = ("delivered", "supported", "done", "closed")
CLOSED_NEED_STATUSES = ("closed", "cancelled")
DIGEST_CARDS = 5

Send = Callable[[Person, Reply], None]


def _outbox_sender(session: AsyncSession, kind: str) -> Send:
    from bot.app import reply_to_payload  # bot.app imports the router, which imports this module

    def send(person: Person, reply: Reply) -> None:
        outbox.enqueue(session, person.channel, person.chat_id, reply_to_payload(reply), kind=kind)

    return send


def funded(need: Need, received: list[Pledge]) -> bool:
    """Everything asked for has arrived (money), or something has (help in kind)."""
    if need.amount is not None:
        return need.received >= need.amount
    return any(p.status == "received" for p in received)


async def on_support_delivered(ctx_or_session: Context | AsyncSession, case_id: int, *, kinds: Collection[str] | None = None,
                               settings: Settings | None = None, now: datetime | None = None) -> int:
    """Staff recorded support delivered for a case: thank every donor of each fully funded need.

    `kinds` (NEEDS codes) narrows it to the needs the delivery was for; None means all of the
    case's needs. Call it with the handler's Context (messages go out after the commit) or with a
    session (they are queued in the outbox of that transaction). Idempotent: returns how many
    pledges were thanked by this call.
    """
    if isinstance(ctx_or_session, Context):
        ctx = ctx_or_session
        return await settle(ctx.session, case_id, ctx.notify, settings=ctx.settings, now=now or ctx.now,
                            delivered=True, kinds=kinds)
    session = ctx_or_session
    return await settle(session, case_id, _outbox_sender(session, "notice"), settings=settings or Settings(),
                        now=now or utcnow(), delivered=True, kinds=kinds)


async def settle(session: AsyncSession, case_id: int, send: Send, *, settings: Settings, now: datetime,
                 delivered: bool, kinds: Collection[str] | None = None) -> int:
    """Thank or update the donors of one case whose outcome they have not heard yet.

    A need counts as delivered when `delivered` says so (for `kinds`, or all), when the staff side
    recorded a delivery of its kind (storage.support), or marked the case supported without any
    delivery on record. A case closed without that gets its donors an update, not a thank-you.
    """
    case = (await session.exec(select(Case).where(col(Case.id) == case_id).options(defer(Case.personal)))).first()  # type: ignore[arg-type]
    if case is None:
        return 0
    waiting = [p for p in await pledges.of_case(session, case_id)
               if p.status == "received" and p.thanked_at is None and p.closed_notice_at is None]
    if not waiting:
        return 0
    needs = {n.id: n for n in await session.exec(select(Need).where(col(Need.case_id) == case_id).execution_options(populate_existing=True))}
    delivered_kinds = set(await session.exec(select(SupportDelivery.kind).where(col(SupportDelivery.case_id) == case_id)))
    card = anonymise.donor_card(case, needs.values(), code=(await anonymise.codes_for(session, [case_id]))[case_id],
                                commune_visible=False, today=now.astimezone(i18n.VN_TZ).date(), listed_only=False)
    thanked = 0
    for need_id, need in needs.items():
        mine = [p for p in waiting if p.need_id == need_id]
        if not mine:
            continue
        said = delivered and (kinds is None or need.kind in kinds)
        recorded = need.kind in delivered_kinds or need.status in DELIVERED_NEED_STATUSES
        # "supported" with no delivery on record (set some other way): take the staff's word for all needs
        need_delivered = said or recorded or (not delivered_kinds and case.status in DELIVERED_CASE_STATUSES)
        if need_delivered and funded(need, mine):
            for pledge in mine:
                await _tell(session, pledge, need, card, send, settings, now, thank=True)
                thanked += 1
        elif case.status == "closed" or need.status in CLOSED_NEED_STATUSES:
            for pledge in mine:
                await _tell(session, pledge, need, card, send, settings, now, thank=False)
    return thanked


async def _tell(session: AsyncSession, pledge: Pledge, need: Need, card: anonymise.DonorCard | None, send: Send,
                settings: Settings, now: datetime, *, thank: bool) -> None:
    if thank:
        pledge.thanked_at = now
    else:
        pledge.closed_notice_at = now
    donor = await session.get(Person, pledge.donor_id)
    if donor is None or not donor.active or not donor.notify:
        return
    with i18n.use(donor.locale or settings.default_locale):
        child = t(N_("trẻ {code} ({who}, {place})"), code=cards.shown_code(card.code), who=cards.who(card), place=cards.place(card)) if card else _("một trẻ")
        yours = _yours(pledge)
        if thank:
            total = i18n.money(need.received) if need.amount is not None else ""
            text = t(N_("🎉 Hỗ trợ đã tới tay trẻ! Nhu cầu «{need}» của {child} đã được đáp ứng đủ{total} và đã được trao. Phần của bạn: {yours}. {org} trân trọng cảm ơn bạn. Giấy cảm ơn: gõ /giaycamon {ref} (trên Telegram có thể bấm nút dưới tin này)."),
                     need=cards.need_label(need.kind), child=child, total=f" ({total})" if total else "", yours=yours, org=settings.org_name, ref=pledge.ref)
            buttons = ((Button(_("📜 Tải giấy cảm ơn"), f"m:giaycamon:{pledge.ref}"),),)
        else:
            text = t(N_("Hồ sơ của {child} mà bạn đã ủng hộ «{need}» ({yours}) đã khép lại. {org} cảm ơn bạn đã chung tay."),
                     child=child, need=cards.need_label(need.kind), yours=yours, org=settings.org_name)
            buttons = ((Button(_("🔎 Xem nhu cầu khác"), "m:nhucau"),),)
        send(donor, Reply(text, buttons=buttons))


def _yours(pledge: Pledge) -> str:
    if pledge.kind == "goods":
        return f"{pledge.quantity} × {pledge.goods}"
    return i18n.money(pledge.received_amount or pledge.amount or 0)


# ---- daily jobs ---------------------------------------------------------------------------------


@daily("donor_updates", hour=9)
async def sweep(app: App, now: datetime) -> None:
    """Thank and update donors of cases the staff side marked supported or closed."""
    async with app.db.transaction() as session:
        case_ids = sorted({p.case_id for p in await pledges.unnotified_received(session)})
        send = _outbox_sender(session, "notice")
        for case_id in case_ids:
            await settle(session, case_id, send, settings=app.settings, now=now, delivered=False)
    app.outbox_ready.set()


@daily("donor_digest", hour=8)
async def digest(app: App, now: datetime) -> None:
    """At most monthly per donor: new needs in the provinces they chose, if there are any."""
    today = now.astimezone(i18n.VN_TZ).date()
    sent = 0
    async with app.db.transaction() as session:
        send = _outbox_sender(session, "digest")
        for person, profile in await donors.digest_due(session, now):
            since = profile.last_digest_at or now - donors.DIGEST_EVERY
            case_ids = await anonymise.published_since(session, since, profile.provinces, today)
            if not case_ids:
                continue
            shown = await anonymise.cards(session, case_ids[:DIGEST_CARDS], today)
            with i18n.use(person.locale or profile.language or app.settings.default_locale):
                send(person, digest_reply(len(case_ids), shown, profile.provinces))
            profile.last_digest_at = now
            sent += 1
    log.info("donor digest: %d sent", sent)
    app.outbox_ready.set()


def digest_reply(total: int, shown: list[anonymise.DonorCard], provinces: list[int]) -> Reply:
    where = ", ".join(places.province(c).short for c in provinces) if provinces else _("cả nước")
    lines = [t(N_("📬 Bản tin tháng: {n} trẻ mới cần hỗ trợ ({where})."), n=total, where=where)]
    lines += ["• " + cards.one_line(card) for card in shown]
    if total > len(shown):
        lines.append(t(N_("… và {n} trẻ khác."), n=total - len(shown)))
    lines.append(_("Tắt bản tin: /caidat · Tắt mọi thông báo: /tatthongbao"))
    data = f"m:nhucau:1:p.{provinces[0]}" if len(provinces) == 1 else "m:nhucau"
    return Reply("\n".join(lines), buttons=((Button(_("🔎 Xem nhu cầu"), data),),))
