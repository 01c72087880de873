"""/phatsong: a message to all donors, or to the collaborators (of one commune), composed in chat,
previewed exactly as it will arrive, confirmed, then queued in the outbox (one message per
person, kind "broadcast", batch = the broadcast's id). The outbox sender paces it to the
channel's limits; here staff see progress (sent / failed / waiting) and can stop what has not
gone yet. People who turned notifications off (/tatthongbao) are never included."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot import forms, i18n
from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import FormSpec, Replies
from bot.i18n import N_, _, t
from bot.staff.common import commune_name, find_communes, form_open, words
from conversations.engine import FormState
from conversations.staff_forms import BROADCAST_FORM
from storage import support
from storage.models import Person
from storage.support import Broadcast

AUDIENCE_WORDS = {
    "donors": "donors", "donor": "donors", "nhahaotam": "donors", "nha hao tam": "donors", "nht": "donors",
    "ctv": "collaborators", "congtacvien": "collaborators", "cong tac vien": "collaborators", "collaborators": "collaborators",
}
ACTIONS = ("gui", "huy", "tiendo", "dung")
USAGE = N_("Gõ /phatsong donors để gửi tin cho mọi nhà hảo tâm, /phatsong ctv để gửi cho mọi cộng tác viên, hoặc /phatsong ctv <xã> cho cộng tác viên một xã.")


def audience_text(row: Broadcast | None = None, audience: str | None = None, commune: int | None = None) -> str:
    audience = row.audience if row is not None else audience
    commune = row.commune_code if row is not None else commune
    if audience == "donors":
        return _("nhà hảo tâm")
    if commune is not None:
        return t(N_("cộng tác viên {commune}"), commune=commune_name(commune))
    return _("mọi cộng tác viên")


def message_for(ctx: Context, row: Broadcast, person: Person | None = None) -> Reply:
    """The message as a recipient reads it, in their language."""
    with i18n.use((person.locale if person else None) or ctx.settings.default_locale):
        lines = [t(N_("📢 Tin từ {org}:"), org=ctx.settings.org_name), row.text]
        if row.audience == "donors":
            lines.append(_("(Gõ /tatthongbao nếu bạn không muốn nhận tin như thế này nữa.)"))
        return Reply("\n\n".join(lines))


def progress_text(row: Broadcast, progress: support.Progress) -> str:
    text = t(N_("📤 Tin phát sóng #{id} tới {audience}: đã gửi {sent}/{total} · lỗi {failed} · đang chờ {pending}"),
             id=row.id, audience=audience_text(row), sent=progress.sent, total=progress.total, failed=progress.failed, pending=progress.pending)
    if progress.cancelled:
        text += " · " + t(N_("đã dừng {n}"), n=progress.cancelled)
    if row.status == "queued" and progress.finished:
        text += " ✅"
    return text


def progress_buttons(row: Broadcast, progress: support.Progress) -> tuple[tuple[Button, ...], ...]:
    buttons = [Button(_("🔄 Xem tiến độ"), f"m:phatsong:tiendo:{row.id}")]
    if progress.pending:
        buttons.append(Button(_("⛔ Dừng gửi"), f"m:phatsong:dung:{row.id}"))
    return (tuple(buttons),)


@command("phatsong", "broadcast", roles={"staff"}, description=N_("Gửi tin tới nhà hảo tâm hoặc cộng tác viên"))
async def broadcast(ctx: Context) -> Replies:
    args = ctx.event.args
    head = words(args[:1])
    if head in ACTIONS:
        return await _act(ctx, head, args[1] if len(args) > 1 else "")
    if not args:
        return await _recent(ctx)
    text = words(args)
    audience = AUDIENCE_WORDS.get(text) or AUDIENCE_WORDS.get(head)
    if audience is None:
        return [Reply(_(USAGE))]
    commune = None
    rest = " ".join(args[1:]) if AUDIENCE_WORDS.get(head) else ""
    if audience == "collaborators" and rest.strip():
        found = find_communes(rest)
        if not found:
            return [Reply(t(N_("Không tìm thấy xã/phường «{text}». Gõ một phần tên, ví dụ: /phatsong ctv ban ho."), text=rest[:40]))]
        if len(found) > 1:
            rows = tuple((Button(commune_name(w.code), f"m:phatsong:ctv:{w.code}"),) for w in found)
            return [Reply(_("Có nhiều xã/phường khớp. Chọn một:"), buttons=rows)]
        commune = found[0].code
    blocked = form_open(ctx)
    if blocked is not None:
        return [blocked]
    count = await support.count_recipients(ctx.session, audience, commune)
    if count == 0:
        return [Reply(t(N_("Chưa có ai trong nhóm «{audience}» nhận được tin (hoặc tất cả đã tắt thông báo)."), audience=audience_text(audience=audience, commune=commune)))]
    intro = t(N_("Soạn tin gửi tới {audience} ({n} người)."), audience=audience_text(audience=audience, commune=commune), n=count)
    return await forms.start(ctx, BROADCAST_FORM.id, intro=intro, meta={"audience": audience, "commune": commune})


async def composed(ctx: Context, state: FormState, answers: dict[str, Any]) -> Replies:
    """The message is written: save a draft, show it exactly as it will arrive, ask to confirm."""
    if ctx.person.role != "staff" or not ctx.person.active:
        return [Reply(_("Bạn không còn quyền cán bộ nên tin này chưa được gửi."))]
    audience, commune = str(state.meta["audience"]), state.meta.get("commune")
    row = await support.draft(ctx.session, audience=audience, commune_code=commune, text=str(answers["message"]),
                              actor_id=ctx.person.id, now=ctx.now)
    count = await support.count_recipients(ctx.session, audience, commune)
    head = t(N_("👀 Xem trước: tin dưới đây sẽ gửi tới {n} người ({audience}). Chọn «Gửi» để gửi, hoặc «Hủy» (bấm hoặc gõ số)."), n=count, audience=audience_text(row))
    buttons = ((Button(t(N_("✅ Gửi tới {n} người"), n=count), f"m:phatsong:gui:{row.id}"), Button(_("✖️ Hủy"), f"m:phatsong:huy:{row.id}")),)
    preview = message_for(ctx, row)
    return [Reply(head), Reply(preview.text, buttons=buttons)]


async def abandoned(ctx: Context, state: FormState) -> Replies:
    return [Reply(_("Đã hủy, không gửi tin nào."))]


async def _act(ctx: Context, action: str, ident: str) -> Replies:
    row = await support.get(ctx.session, int(ident)) if ident.isdigit() else None
    if row is None:
        return [Reply(_("Không tìm thấy tin phát sóng này. Gõ /phatsong để xem các tin gần đây."))]
    if action == "huy":
        if row.status != "draft":
            return [Reply(t(N_("Tin này đã được gửi đi; để dừng phần chưa gửi, gõ /phatsong dung {id}."), id=row.id))]
        await support.cancel(ctx.session, row, actor_id=ctx.person.id, now=ctx.now)
        return [Reply(_("Đã hủy, không gửi tin nào."))]
    if action == "gui":
        if row.status != "draft":
            progress = await support.progress(ctx.session, row.id or 0)
            return [Reply(_("Tin này đã được xử lý rồi.") + "\n" + progress_text(row, progress), buttons=progress_buttons(row, progress))]
        # bot.app imports the router, which imports this module: import it when used
        from bot.app import reply_to_payload

        people = await support.recipients(ctx.session, row.audience, row.commune_code)
        total = await support.queue(ctx.session, row, ((p, reply_to_payload(message_for(ctx, row, p))) for p in people),
                                    actor_id=ctx.person.id, now=ctx.now)
        ctx.app.outbox_ready.set()
        progress = support.Progress(total=total, sent=0, failed=0, pending=total, cancelled=0)
        text = t(N_("📤 Đã xếp {n} tin vào hàng gửi. Tin đi dần theo giới hạn của kênh (khoảng 30 tin mỗi giây)."), n=total)
        return [Reply(text + "\n" + progress_text(row, progress), buttons=progress_buttons(row, progress))]
    assert row.id is not None
    if action == "dung":
        stopped = await support.cancel(ctx.session, row, actor_id=ctx.person.id, now=ctx.now)
        progress = await support.progress(ctx.session, row.id)
        text = t(N_("⛔ Đã dừng: {n} tin chưa gửi sẽ không gửi nữa."), n=stopped)
        return [Reply(text + "\n" + progress_text(row, progress), buttons=progress_buttons(row, progress))]
    progress = await support.progress(ctx.session, row.id)
    return [Reply(progress_text(row, progress), buttons=progress_buttons(row, progress))]


async def _recent(ctx: Context) -> Replies:
    rows = list(await ctx.session.exec(select(Broadcast).where(col(Broadcast.status) != "draft").order_by(col(Broadcast.id).desc()).limit(5)))
    lines = [_(USAGE)]
    buttons: list[tuple[Button, ...]] = []
    if rows:
        lines.append(_("Các tin gần đây:"))
    for row in rows:
        assert row.id is not None
        progress = await support.progress(ctx.session, row.id)
        lines.append("• " + progress_text(row, progress))
        buttons += list(progress_buttons(row, progress))
    return [Reply("\n".join(lines), buttons=tuple(buttons))]


forms.register(FormSpec(BROADCAST_FORM, on_done=composed, on_cancel=abandoned, effects={}))
