"""How staff see a pledge in one line: reference, date, what, case number and need, donor, phone.

Staff work with case numbers and donors' names; donors never see this line.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot import i18n
from bot.context import Context
from bot.donors import cards
from bot.i18n import _
from conversations.parsing.phone import format_vn_phone
from storage import donors
from storage.models import Case, Need
from storage.pledges import Pledge


async def case_code(ctx: Context, case_id: int) -> str:
    return (await ctx.session.exec(select(Case.code).where(col(Case.id) == case_id))).one()


async def need_kind(ctx: Context, need_id: int) -> str:
    return (await ctx.session.exec(select(Need.kind).where(col(Need.id) == need_id))).one()


async def donor_name(ctx: Context, person_id: int) -> str | None:
    profile = await donors.get(ctx.session, person_id)
    return profile.display_name if profile else None


async def line(ctx: Context, pledge: Pledge) -> str:
    """'UH-7K3M9Q · 24/11/2026 · 500.000 ₫ · LCA-2026-000001 «Học tập, học bổng» · Nguyễn An · ☎ 0912 345 678'."""
    if pledge.kind == "money":
        what = i18n.money(pledge.amount or 0)
    else:
        what = f"{pledge.quantity} × {pledge.goods}"
    kind = await need_kind(ctx, pledge.need_id)
    parts = [pledge.ref, i18n.day(pledge.created_at.astimezone(i18n.VN_TZ).date()), what,
             f"{await case_code(ctx, pledge.case_id)} «{cards.need_label(kind)}»",
             await donor_name(ctx, pledge.donor_id) or _("ẩn danh")]
    if pledge.contact:
        parts.append("☎ " + format_vn_phone(pledge.contact))
    return " · ".join(parts)
