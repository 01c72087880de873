"""`import <file> [--dry-run]`: the same check and import as /nhap, from the server's shell."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot import i18n
from bot.app import App
from bot.i18n import N_, _, t
from bot.ops import importer
from bot.settings import Settings
from conversations.fields import is_number
from conversations.parsing import places
from conversations.parsing.text import fold

log = logging.getLogger(__name__)


def find_province(value: str) -> int | None:
    """A province code or name, or None when it names none or several."""
    if is_number(value):
        try:
            return places.province(int(value)).code
        except KeyError:
            return None
    found = places.search_provinces(value, limit=3)
    exact = [p for p in found if fold(value) in (fold(p.short), fold(p.name))]
    return (exact or found)[0].code if len(exact) == 1 or len(found) == 1 else None


async def import_file(settings: Settings, path: Path, *, dry_run: bool, province: str | None = None, sheet: str | None = None,
                      include_duplicates: bool = False, report_path: Path | None = None) -> int:
    default = None
    if province is not None:
        default = find_province(province)
        if default is None:
            print(t(N_("Không xác định được tỉnh «{text}». Hãy ghi mã tỉnh hoặc tên đầy đủ hơn."), text=province))
            return 2
    try:
        content = path.read_bytes()
    except OSError:
        print(t(N_("Không đọc được tệp {path}."), path=path))
        return 2
    app = await App.open(settings)
    try:
        now = app.clock()
        today = now.astimezone(i18n.VN_TZ).date()
        async with app.db.transaction() as session:
            report = await importer.check(session, path.name, content, today=today, default_province=default, sheet=sheet)
            if not dry_run and not report.errors:
                await importer.apply(session, report, reporter_id=None, now=now, include_duplicates=include_duplicates)
    finally:
        await app.close()
    text, _cut = importer.render(report)
    print(text)
    if report_path is not None:
        fd = os.open(report_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may quote cells
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    print()
    if report.errors:
        return 1
    if dry_run:
        print(t(N_("Chạy thử: chưa nhập gì. Chạy lại không có --dry-run để nhập {n} dòng hợp lệ."), n=len(report.accepted) + (len(report.duplicates) if include_duplicates else 0)))
    elif report.imported:
        print(t(N_("Nguồn của các hồ sơ này: «{source}». Chúng ở trạng thái chờ xem xét."), source=importer.source_of(report.file_name)))
    else:
        print(_("Không có dòng nào được nhập."))
    log.info("import %s: rows=%d accepted=%d rejected=%d duplicates=%d imported=%d", "checked" if dry_run else "done",
             len(report.rows), len(report.accepted), len(report.rejected), len(report.duplicates), len(report.imported))
    return 0
