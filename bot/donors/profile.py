"""Becoming a donor (two questions) and the donor's settings: name, language, digest, messages.

A guest who asks for anything donor-only is registered first; what they asked for then runs
(kept in the form's meta as `then`).
"""

from __future__ import annotations

from typing import Any

from bot import i18n
from bot.context import Context
from bot.core import Button, Reply
from bot.donors import browse, mine, pledging
from bot.donors.formtools import busy, open_form
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.roles import common
from conversations.categories import label_of
from conversations.donor_forms import LANGUAGE_OPTIONS, PROVINCES_FORM, SIGNUP_FORM, is_anonymous
from conversations.engine import FormState
from conversations.parsing import places
from storage import donors


async def signup(ctx: Context, then: list[str] | None = None) -> Replies:
    """Open the two-question registration; `then` is the command to run after it."""
    if (refusal := busy(ctx)) is not None:
        return refusal
    if ctx.person.role not in ("guest", "donor"):
        return [Reply(_("Bạn đang dùng bot với vai trò cán bộ hoặc cộng tác viên, nên không cần đăng ký nhà hảo tâm."))]
    intro = _("Đăng ký nhà hảo tâm: 2 câu hỏi. Tên của bạn chỉ dùng trên giấy cảm ơn và được mã hóa khi lưu.")
    return await open_form(ctx, SIGNUP_FORM.id, meta={"then": list(then or [])}, intro=intro)


async def signup_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    raw = answers.get("display_name")
    name = None if is_anonymous(raw) else raw
    language = answers.get("language") or "vi"
    await donors.register(ctx.session, ctx.person, display_name=name, language=language, now=ctx.now)
    ctx.lang = language
    then = list(state.meta.get("then") or [])
    with i18n.use(language):
        shown = name or _("nhà hảo tâm ẩn danh")
        welcome = Reply(t(N_("🎉 Chào mừng {name}! Bạn đã là nhà hảo tâm của Chung Tay. Thông tin về trẻ luôn được ẩn danh để bảo vệ các em."), name=shown))
        if then and then[0] == "ungho" and len(then) > 1:
            return [welcome, *await pledging.choose(ctx, then[1], then[2] if len(then) > 2 else None)]
        if then and then[0] == "nhucau":
            return [welcome, *await browse.page(ctx, tuple(then[1:]))]
        if then and then[0] == "caidat":
            return [welcome, *await settings_view(ctx)]
        if then and then[0] == "daungho":
            return [welcome, *await mine.donor_pledges(ctx)]
        return [welcome, common.menu(ctx)]


async def signup_cancelled(ctx: Context, state: FormState) -> Replies:
    return [Reply(_("Đã hủy đăng ký, không có gì được lưu. Đăng ký lại bất cứ lúc nào: /dangky"))]


async def settings_view(ctx: Context, args: tuple[str, ...] = ()) -> Replies:
    """/caidat [bantin on|off | tinh]: what the donor hears, and the buttons to change it."""
    assert ctx.person.id is not None
    profile = await donors.get(ctx.session, ctx.person.id)
    if profile is None:
        return await signup(ctx, ["caidat"])
    action = args[0].lower() if args else ""
    note = None
    if action == "bantin" and len(args) > 1 and args[1] in ("on", "off"):
        donors.set_digest(profile, args[1] == "on", now=ctx.now)
        if args[1] == "on" and not ctx.person.notify:
            ctx.person.notify = True
        note = _("Đã bật bản tin tháng.") if profile.digest else _("Đã tắt bản tin tháng.")
    elif action == "tinh":
        if (refusal := busy(ctx)) is not None:
            return refusal
        return await open_form(ctx, PROVINCES_FORM.id)
    return [*([Reply(note)] if note else []), summary(ctx, profile)]


def _where(profile: donors.DonorProfile) -> str:
    return ", ".join(places.province(c).short for c in profile.provinces) if profile.provinces else _("cả nước")


def summary(ctx: Context, profile: donors.DonorProfile) -> Reply:
    on, off = _("bật"), _("tắt")
    lines = [
        _("⚙️ Cài đặt của bạn"),
        t(N_("Tên trên giấy cảm ơn: {name}"), name=profile.display_name or _("ẩn danh")),
        t(N_("Ngôn ngữ: {language}"), language=_(label_of(LANGUAGE_OPTIONS, ctx.person.locale or profile.language))),
        t(N_("Thông báo (cảm ơn, cập nhật, bản tin): {state}"), state=on if ctx.person.notify else off),
        t(N_("Bản tin tháng về nhu cầu mới: {state} · tỉnh/thành: {where}"), state=on if profile.digest and ctx.person.notify else off, where=_where(profile)),
    ]
    rows: list[tuple[Button, ...]] = [
        (Button(_("📬 Tắt bản tin tháng") if profile.digest else _("📬 Bật bản tin tháng"), f"m:caidat:bantin:{'off' if profile.digest else 'on'}"),),
        (Button(_("🗺 Chọn tỉnh/thành"), "m:caidat:tinh"), Button(_("✏️ Đổi tên, ngôn ngữ"), "m:dangky")),
        (Button(_("🔕 Tắt mọi thông báo"), "m:tatthongbao") if ctx.person.notify else Button(_("🔔 Bật thông báo"), "m:batthongbao"),),
    ]
    return Reply("\n".join(lines), buttons=tuple(rows))


async def provinces_done(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    assert ctx.person.id is not None
    profile = await donors.get(ctx.session, ctx.person.id)
    if profile is None:
        return await signup(ctx)
    donors.set_provinces(profile, answers.get("provinces") or [], now=ctx.now)
    donors.set_digest(profile, True, now=ctx.now)
    return [Reply(t(N_("Đã lưu. Bạn sẽ nhận bản tin tháng về nhu cầu mới ở: {where}."), where=_where(profile))), summary(ctx, profile)]


async def provinces_cancelled(ctx: Context, state: FormState) -> Replies:
    return [Reply(_("Đã hủy, giữ nguyên tỉnh/thành đã chọn."))]


async def notifications(ctx: Context, on: bool) -> Replies:
    """/tatthongbao and /batthongbao: every thank-you, update, digest and broadcast, or none."""
    ctx.person.notify = on
    if on:
        return [Reply(_("🔔 Đã bật lại thông báo. Tắt bất cứ lúc nào: /tatthongbao"))]
    return [Reply(_("🔕 Đã tắt mọi thông báo: bạn sẽ không nhận tin cảm ơn, cập nhật, bản tin hay tin phát chung nữa. Giấy cảm ơn vẫn tải được trong /daungho. Bật lại: /batthongbao"))]
