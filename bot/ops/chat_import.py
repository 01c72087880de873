"""/nhap (/import): staff send a list of children as a file, see the check, then confirm.

The file is never stored by the bot. The check (a dry run) is written to the audit log with the
file's channel id and digest; the confirm button carries only that entry's number, so pressing
it on any worker, even after a restart, downloads the same file again, checks that it did not
change, judges every row again (new duplicates may have appeared) and imports in the event's
single transaction. A second press finds the import already done.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.commands import command
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.ops import importer
from conversations.parsing import places
from conversations.parsing.text import fold
from storage import audit
from storage.audit import AuditEntry

log = logging.getLogger(__name__)

CHECK_ACTION = "import_check"
DONE_ACTION = "import_done:{id}"
CANCEL_ACTION = "import_cancel:{id}"
VALID_FOR = timedelta(hours=24)
MESSAGE_BUDGET = 3500  # characters: Telegram allows 4,096 per message
ROW_LIMITS = (30, 15, 8, 3, 0)


def instructions() -> Reply:
    return Reply(_("Nhập danh sách trẻ em từ tệp Excel (.xlsx) hoặc CSV:\n1. Gửi tệp cho bot, kèm chú thích /nhap (có thể thêm tên tỉnh: /nhap lao cai).\n2. Bot kiểm tra từng dòng bằng đúng các quy tắc của mẫu báo cáo và gửi lại kết quả: dòng hợp lệ, dòng bị từ chối (kèm lý do và ô), dòng có thể trùng hồ sơ đã có.\n3. Bấm «Nhập» để nhập các dòng hợp lệ; chưa bấm thì chưa có gì được lưu.\nDòng tiêu đề cần có các cột: họ tên, ngày sinh (hoặc năm sinh, tuổi), tỉnh, xã/phường, hoàn cảnh; nên có thêm: giới tính, thôn, nhu cầu, số tiền, người chăm sóc, điện thoại, hộ nghèo. Tên cột có dấu hay không dấu đều được."))


def _fits(report: importer.Report) -> tuple[str, bool]:
    for limit in ROW_LIMITS:
        text, cut = importer.render(report, limit=limit)
        if len(text) <= MESSAGE_BUDGET:
            return text, cut
    text, _cut = importer.render(report, limit=0)
    return text[:MESSAGE_BUDGET], True


def _full_report(report: importer.Report) -> Reply:
    text, _cut = importer.render(report)
    stem = report.file_name.rsplit(".", 1)[0][:40] or "danh-sach"
    return Reply(_("Báo cáo kiểm tra đầy đủ (tệp đính kèm)."), document=(f"kiem-tra-{stem}.txt", text.encode("utf-8")))


def _province(ctx: Context, words: tuple[str, ...]) -> int | Reply | None:
    """The province for rows that leave it empty: `/nhap lao cai`, else the staff member's own."""
    if not words:
        return ctx.person.province_code
    query = " ".join(words)
    found = places.search_provinces(query, limit=3)
    exact = [p for p in found if fold(query) in (fold(p.short), fold(p.name))]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0].code
    return Reply(t(N_("Không xác định được tỉnh «{text}». Hãy ghi rõ hơn, ví dụ: /nhap lao cai."), text=query[:40]))


CHANNELS_WITHOUT_FILES = frozenset({"zalo"})  # Zalo's Bot API gives bots no files (docs/zalo.md)


def _takes_files(ctx: Context) -> bool:
    """Whether a file can reach the bot here: a channel that sends them, and a way to download."""
    return ctx.event.channel not in CHANNELS_WITHOUT_FILES and ctx.app.fetch_file is not None


def _no_files_here() -> Reply:
    """Where no file can come, the steps of `instructions` cannot be followed."""
    return Reply(_("Kênh này chưa nhận được tệp. Hãy nhờ quản trị viên nhập tệp bằng lệnh «import» trên máy chủ."))


def _downloaded(ctx: Context, file_id: str) -> bytes | Reply:
    if not _takes_files(ctx):
        return _no_files_here()
    content = ctx.file(file_id)  # downloaded outside the transaction (bot/context.py)
    if isinstance(content, Exception):
        return Reply(_("Không tải được tệp. Hãy gửi lại."))
    return content


async def check_file(ctx: Context) -> Replies:
    assert ctx.event.document is not None
    file_id, file_name = ctx.event.document
    suffix = file_name.lower().rsplit(".", 1)[-1] if "." in file_name else ""
    if suffix not in ("xlsx", "xlsm", "csv", "txt"):
        reason = "old_format" if suffix in ("xls", "ods") else "unknown_format"
        return [Reply(t(importer.SHEET_ERRORS[reason], suffix=suffix, name=file_name[:60])), instructions()]
    province = _province(ctx, ctx.event.args)
    if isinstance(province, Reply):
        return [province]
    content = _downloaded(ctx, file_id)
    if isinstance(content, Reply):
        return [content]
    report = await importer.check(ctx.session, file_name, content, today=ctx.today, default_province=province)
    entry = audit.record(ctx.session, CHECK_ACTION, actor_id=ctx.person.id, now=ctx.now, detail=json.dumps({
        "file_id": file_id, "file_name": file_name, "sha256": hashlib.sha256(content).hexdigest(),
        "province": province, "accepted": len(report.accepted),
    }))
    await ctx.session.flush()
    log.info("import checked: rows=%d accepted=%d rejected=%d duplicates=%d", len(report.rows),
             len(report.accepted), len(report.rejected), len(report.duplicates))
    text, cut = _fits(report)
    replies = [_full_report(report)] if cut else []
    if not report.accepted:
        return [*replies, Reply(text + "\n\n" + _("Không có dòng nào nhập được. Hãy sửa tệp rồi gửi lại."))]
    n = len(report.accepted)
    text += "\n\n" + t(N_("Chưa có gì được lưu. Bấm «Nhập» để nhập {n} dòng hợp lệ; các dòng bị từ chối hoặc có thể trùng sẽ không được nhập (sửa trong tệp rồi gửi lại sau)."), n=n)
    buttons = (
        (Button(t(N_("✅ Nhập {n} dòng"), n=n), f"m:nhap:ok:{entry.id}"),),
        (Button(_("✖️ Không nhập"), f"m:nhap:no:{entry.id}"),),
    )
    return [*replies, Reply(text, buttons=buttons)]


async def _pending_check(ctx: Context, raw_id: str) -> tuple[AuditEntry, dict[str, Any]] | Reply:
    gone = Reply(_("Lần kiểm tra này không còn dùng được. Hãy gửi lại tệp kèm /nhap."))
    if not raw_id.isascii() or not raw_id.isdigit():
        return gone
    entry = await ctx.session.get(AuditEntry, int(raw_id))
    if entry is None or entry.action != CHECK_ACTION or entry.actor_id != ctx.person.id or entry.detail is None:
        return gone
    if ctx.now - entry.at > VALID_FOR:
        return Reply(_("Lần kiểm tra này đã quá 24 giờ. Hãy gửi lại tệp kèm /nhap để kiểm tra lại."))
    closed = select(AuditEntry.action).where(AuditEntry.action.in_([DONE_ACTION.format(id=entry.id), CANCEL_ACTION.format(id=entry.id)]))  # type: ignore[attr-defined]
    ended = (await ctx.session.exec(closed)).first()
    if ended is not None:
        if ended.startswith("import_done"):
            return Reply(_("Tệp này đã được nhập rồi. Xem các hồ sơ mới trong danh sách chờ duyệt."))
        return Reply(_("Lần nhập này đã được hủy. Gửi lại tệp kèm /nhap nếu muốn nhập."))
    return entry, json.loads(entry.detail)


async def confirm(ctx: Context, raw_id: str) -> Replies:
    found = await _pending_check(ctx, raw_id)
    if isinstance(found, Reply):
        return [found]
    entry, detail = found
    content = _downloaded(ctx, detail["file_id"])
    if isinstance(content, Reply):
        return [content]
    if hashlib.sha256(content).hexdigest() != detail["sha256"]:
        return [Reply(_("Tệp tải về khác với tệp đã kiểm tra. Hãy gửi lại tệp kèm /nhap."))]
    report = await importer.check(ctx.session, detail["file_name"], content, today=ctx.today, default_province=detail.get("province"))
    await importer.apply(ctx.session, report, reporter_id=ctx.person.id, now=ctx.now)
    audit.record(ctx.session, DONE_ACTION.format(id=entry.id), actor_id=ctx.person.id, now=ctx.now,
                 detail=json.dumps({"imported": len(report.imported)}))
    log.info("import done: cases=%d", len(report.imported))
    lines = [t(N_("✅ Đã nhập {n} hồ sơ từ {file}."), n=len(report.imported), file=detail["file_name"])]
    if report.imported:
        first, last = report.imported[0], report.imported[-1]
        lines.append(t(N_("Mã hồ sơ: {codes}. Các hồ sơ mới ở trạng thái chờ xem xét."), codes=first if first == last else f"{first} … {last}"))
    if len(report.accepted) != detail.get("accepted"):
        lines.append(t(N_("Lưu ý: kết quả kiểm tra lại khác lần trước ({before} dòng hợp lệ, nay {now}); có thể vừa có hồ sơ trùng được thêm."), before=detail.get("accepted"), now=len(report.accepted)))
    skipped = len(report.rejected) + len(report.duplicates)
    if skipped:
        lines.append(t(N_("Không nhập {n} dòng bị từ chối hoặc có thể trùng."), n=skipped))
    return [Reply("\n".join(lines))]


async def cancel(ctx: Context, raw_id: str) -> Replies:
    found = await _pending_check(ctx, raw_id)
    if isinstance(found, Reply):
        return [found]
    entry, _detail = found
    audit.record(ctx.session, CANCEL_ACTION.format(id=entry.id), actor_id=ctx.person.id, now=ctx.now)
    return [Reply(_("Đã hủy. Không có gì được nhập."))]


@command("nhap", "import", roles={"staff"}, description=N_("Nhập danh sách trẻ em từ tệp Excel/CSV"))
async def import_command(ctx: Context) -> Replies:
    args = ctx.event.args
    if len(args) == 2 and args[0] == "ok":
        return await confirm(ctx, args[1])
    if len(args) == 2 and args[0] == "no":
        return await cancel(ctx, args[1])
    if ctx.event.document is None:
        return [instructions() if _takes_files(ctx) else _no_files_here()]
    return await check_file(ctx)

