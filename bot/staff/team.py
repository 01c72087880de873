"""Onboarding and access: invites for collaborators (/moi, with a QR code to print or show),
the list of collaborators with their last report (/ctv, deactivate or reactivate), and staff
(/nhanvien them <id>). Every change is written to the audit log."""

from __future__ import annotations

import io

import segno
from sqlalchemy import func
from sqlmodel import col, select

from bot import i18n
from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.staff.common import commune_name, find_communes, local_day, who, words
from storage import audit, people
from storage.models import Case, Person

PAGE = 15
QR_SCALE = 8


def invite_link(ctx: Context, code: str) -> str | None:
    username = (ctx.settings.bot_username or "").lstrip("@")
    return f"https://t.me/{username}?start={code}" if username else None


def qr_png(content: str) -> bytes:
    """A QR code big enough to scan from a printed A6 sheet or another phone's screen."""
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="png", scale=QR_SCALE, border=4)
    return buffer.getvalue()


@command("moi", "invite", roles={"staff"}, description=N_("Mời cộng tác viên của một xã (mã, đường link, mã QR)"))
async def invite(ctx: Context) -> Replies:
    text = " ".join(ctx.event.args).strip()
    if not text:
        return [Reply(_("Gõ /moi kèm tên xã/phường, ví dụ: /moi ban ho, hoặc /moi ban ho, lao cai nếu nhiều tỉnh có xã trùng tên."))]
    found = find_communes(text)
    if not found:
        return [Reply(t(N_("Không tìm thấy xã/phường «{text}». Gõ một phần tên, có dấu hay không dấu đều được, ví dụ: /moi ban ho."), text=text[:40]))]
    if len(found) > 1:
        rows = tuple((Button(commune_name(w.code), f"m:moi:{w.code}"),) for w in found)
        return [Reply(_("Có nhiều xã/phường khớp. Chọn xã cần mời:"), buttons=rows)]
    ward = found[0]
    created = await people.create_invite(ctx.session, ward.province_code, ward.code, created_by=ctx.person.id, now=ctx.now)
    audit.record(ctx.session, "invite", actor_id=ctx.person.id, detail=f"commune {ward.code} invite {created.id}", now=ctx.now)
    link = invite_link(ctx, created.code)
    lines = [
        t(N_("✉️ Mã mời cộng tác viên {place}: {code}"), place=commune_name(ward.code), code=created.code),
        t(N_("Dùng một lần, hết hạn lúc {expires}."), expires=i18n.moment(created.expires_at)),
    ]
    if link:
        lines.append(t(N_("Đường link: {link}"), link=link))
        lines.append(_("Trên Telegram: người được mời mở đường link (hoặc quét mã QR) rồi bấm «Start»."))
        lines.append(t(N_("Trên Zalo, hoặc khi không mở được đường link: người được mời gõ cho bot /start {code}"), code=created.code))
    else:
        lines.append(t(N_("Người được mời gõ cho bot (trên Zalo hay Telegram đều được): /start {code}"), code=created.code))
    return [Reply("\n".join(lines), image=qr_png(link or f"/start {created.code}"))]


# ---- collaborators ----------------------------------------------------------------------------


async def _last_reports(ctx: Context, ids: list[int]) -> dict[int, tuple[int, object]]:
    statement = (
        select(Case.reporter_id, func.count(), func.max(Case.created_at))
        .where(col(Case.reporter_id).in_(ids)).group_by(col(Case.reporter_id))
    )
    return {rid: (int(n), last) for rid, n, last in await ctx.session.exec(statement)}


@command("ctv", "collaborators", roles={"staff"}, description=N_("Danh sách cộng tác viên; tạm dừng hoặc mở lại"))
async def collaborators(ctx: Context) -> Replies:
    args = list(ctx.event.args)
    action = words(args[:1])
    if action in ("tat", "dung", "off", "bat", "mo", "on") and len(args) > 1:
        return await _switch(ctx, action in ("bat", "mo", "on"), args[1])
    page = 1
    if args and args[-1].isdigit() and len(args[-1]) <= 4:
        page = max(1, int(args.pop()))
    where = [col(Person.role) == "collaborator"]
    title = _("👥 Cộng tác viên")
    if args:
        found = find_communes(" ".join(args))
        if not found:
            return [Reply(t(N_("Không tìm thấy xã/phường «{text}»."), text=" ".join(args)[:40]))]
        where.append(col(Person.commune_code).in_([w.code for w in found]))
        title += " · " + ", ".join(commune_name(w.code) for w in found[:3])
    total = int((await ctx.session.exec(select(func.count()).select_from(Person).where(*where))).one())
    if total == 0:
        return [Reply(_("Chưa có cộng tác viên nào. Mời cộng tác viên bằng /moi <xã>."))]
    pages = (total + PAGE - 1) // PAGE
    page = min(page, pages)
    rows = list(await ctx.session.exec(
        select(Person).where(*where).order_by(col(Person.commune_code), col(Person.id)).offset((page - 1) * PAGE).limit(PAGE)
    ))
    reports = await _last_reports(ctx, [p.id for p in rows if p.id is not None])
    lines = [t(N_("{title}: {total} (trang {page}/{pages})"), title=title, total=total, page=page, pages=pages)]
    buttons: list[tuple[Button, ...]] = []
    for person in rows:
        assert person.id is not None
        count, last = reports.get(person.id, (0, None))
        last_text = t(N_("báo gần nhất {day}"), day=local_day(last)) if last else _("chưa báo lần nào")  # type: ignore[arg-type]
        state = "" if person.active else " · " + _("⏸ đã tạm dừng")
        lines.append(f"#{person.id} · {who(person)} · {commune_name(person.commune_code)} · " + t(N_("{n} báo cáo"), n=count) + f" · {last_text}{state}")
        if person.active:
            buttons.append((Button(t(N_("⏸ Tạm dừng #{id}"), id=person.id), f"m:ctv:tat:{person.id}"),))
        else:
            buttons.append((Button(t(N_("▶️ Mở lại #{id}"), id=person.id), f"m:ctv:bat:{person.id}"),))
    nav = []
    if page > 1:
        nav.append(Button(_("⬅️ Trang trước"), f"m:ctv:{page - 1}"))
    if page < pages:
        nav.append(Button(_("Trang sau ➡️"), f"m:ctv:{page + 1}"))
    if nav:
        buttons.append(tuple(nav))
    return [Reply("\n".join(lines), buttons=tuple(buttons))]


async def _switch(ctx: Context, active: bool, ident: str) -> Replies:
    person = await ctx.session.get(Person, int(ident.lstrip("#"))) if ident.lstrip("#").isdigit() else None
    if person is None or person.role != "collaborator":
        return [Reply(_("Không tìm thấy cộng tác viên này. Xem danh sách: /ctv."))]
    if person.active == active:
        return [Reply(_("Cộng tác viên này đang hoạt động.") if active else _("Cộng tác viên này đã được tạm dừng rồi."))]
    person.active = active
    audit.record(ctx.session, "collaborator_on" if active else "collaborator_off", actor_id=ctx.person.id, detail=str(person.id), now=ctx.now)
    if active:
        return [Reply(t(N_("▶️ Đã mở lại cộng tác viên #{id} ({who})."), id=person.id, who=who(person)))]
    return [Reply(t(N_("⏸ Đã tạm dừng cộng tác viên #{id} ({who}). Người này không gửi được báo cáo mới nữa; các hồ sơ đã báo vẫn giữ nguyên."), id=person.id, who=who(person)))]


# ---- staff --------------------------------------------------------------------------------------


@command("nhanvien", "staff", roles={"staff"}, description=N_("Danh sách cán bộ; thêm cán bộ"))
async def staff_members(ctx: Context) -> Replies:
    args = ctx.event.args
    action = words(args[:1])
    if action in ("them", "add") and len(args) == 2:
        return await _add(ctx, args[1])
    if action in ("bo", "xoa", "remove") and len(args) == 2:
        return await _remove(ctx, args[1])
    if args:
        return [Reply(_("Gõ /nhanvien để xem danh sách, /nhanvien them <id> để thêm cán bộ (id là số tài khoản của người đó trên kênh, ví dụ Telegram), /nhanvien bo <id> để bỏ quyền."))]
    members = await people.staff(ctx.session)
    lines = [t(N_("🧑‍💼 Cán bộ: {n}"), n=len(members))]
    lines += [f"• {who(m)} · {m.channel}:{m.external_id}" for m in members]
    lines.append(_("Thêm cán bộ: /nhanvien them <id>."))
    return [Reply("\n".join(lines))]


def _valid_id(ident: str) -> bool:
    return 0 < len(ident) <= 64 and all(c.isalnum() or c in "-_" for c in ident)


async def _add(ctx: Context, ident: str) -> Replies:
    if not _valid_id(ident):
        return [Reply(_("Mã tài khoản không hợp lệ: chỉ gồm chữ số và chữ cái, ví dụ: 123456789."))]
    person = await people.find(ctx.session, ctx.person.channel, ident)
    if person is not None and person.role == "staff" and person.active:
        return [Reply(t(N_("{id} đã là cán bộ."), id=ident))]
    before = person.role if person is not None else "-"
    person = await people.set_role(ctx.session, ctx.person.channel, ident, "staff")
    audit.record(ctx.session, "staff_add", actor_id=ctx.person.id, detail=f"{ctx.person.channel}:{ident} {before}->staff", now=ctx.now)
    with i18n.use(person.locale or ctx.settings.default_locale):
        ctx.notify(person, Reply(t(N_("Bạn đã được thêm làm cán bộ của {org} trên Chung Tay. Gõ /canbo để xem các việc của cán bộ."), org=ctx.settings.org_name)))
    return [Reply(t(N_("✅ Đã thêm {id} làm cán bộ. Nếu người này chưa từng nhắn cho bot, họ cần mở Chung Tay và gõ /start (trên Telegram: bấm «Start») thì mới nhận được tin."), id=ident))]


async def _remove(ctx: Context, ident: str) -> Replies:
    person = await people.find(ctx.session, ctx.person.channel, ident) if _valid_id(ident) else None
    if person is None or person.role != "staff":
        return [Reply(t(N_("{id} không phải cán bộ."), id=ident[:64]))]
    if person.id == ctx.person.id:
        return [Reply(_("Bạn không thể tự bỏ quyền cán bộ của mình; hãy nhờ một cán bộ khác."))]
    if ident in ctx.settings.staff_id_list:
        return [Reply(_("Người này được cấu hình là cán bộ (STAFF_IDS) và sẽ được thêm lại khi bot khởi động; hãy sửa cấu hình trước."))]
    person.role = "guest"
    audit.record(ctx.session, "staff_remove", actor_id=ctx.person.id, detail=f"{person.channel}:{ident}", now=ctx.now)
    return [Reply(t(N_("Đã bỏ quyền cán bộ của {id}."), id=ident))]
