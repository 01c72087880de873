"""/nhap: staff send a list to the bot, read the check, confirm with a button."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, func, select

import bot.ops  # noqa: F401  registers /nhap (until the router imports bot.ops itself)
from bot.app import App
from storage.audit import AuditEntry
from storage.models import Case
from tests.support import Chat, Clock
from tests.test_ops_import import xlsx

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "sample-children.xlsx"


def serve(app: App, files: dict[str, bytes]) -> list[str]:
    """The channel's download: bytes by file id; returns the ids fetched, in order."""
    fetched: list[str] = []

    async def fetch(file_id: str) -> bytes:
        fetched.append(file_id)
        return files[file_id]

    app.fetch_file = fetch
    return fetched


async def count_cases(app: App) -> int:
    async with app.db.transaction() as session:
        return (await session.exec(select(func.count()).select_from(Case))).one()


async def send_file(chat: Chat, file_id: str, name: str, *args: str) -> None:
    await chat.event(command="nhap", args=args, document=(file_id, name))


def confirm_button(chat: Chat) -> str:
    [data] = [d for d in chat.button_data() if d.startswith("m:nhap:ok:")]
    return data


async def test_staff_checks_then_imports_a_workbook(app: App) -> None:
    fetched = serve(app, {"F1": SAMPLE.read_bytes()})
    staff = await Chat.staff(app, "9001")
    await staff.send("/nhap")
    assert "Gửi tệp cho bot, kèm chú thích /nhap" in staff.text

    await send_file(staff, "F1", "sample-children.xlsx")
    text = staff.text
    assert "✅ Hợp lệ: 6 dòng" in text and "❌ Bị từ chối: 5 dòng" in text
    assert "• dòng 7, cột D (Ngày sinh): Ngày 31/02/2015 không có thật" in text
    assert "• dòng 15: giống dòng 13 trong tệp" in text
    assert "Chưa có gì được lưu" in text and "1. ✅ Nhập 6 dòng" in text and "2. ✖️ Không nhập" in text
    assert await count_cases(app) == 0

    ok = confirm_button(staff)
    await staff.press(ok)
    assert "✅ Đã nhập 6 hồ sơ từ sample-children.xlsx." in staff.text
    assert "LCA-2026-000001 … LCA-2026-000006" in staff.text and "Không nhập 6 dòng" in staff.text
    assert await count_cases(app) == 6 and fetched == ["F1", "F1"]
    async with app.db.transaction() as session:
        sources = set(await session.exec(select(Case.source)))
        actions = [a for a in await session.exec(select(AuditEntry.action).order_by(col(AuditEntry.id)))]
    assert sources == {"import:sample-children.xlsx"}
    assert actions[0] == "import_check" and actions.count("import") == 6 and actions[-1].startswith("import_done:")

    assert actions[-1] == "import_done:" + ok.rsplit(":", 1)[1]

    await staff.press(ok)  # pressed again, or on an older copy of the message
    assert "Tệp này đã được nhập rồi" in staff.text
    assert await count_cases(app) == 6


async def test_typing_the_number_confirms_too(app: App) -> None:
    serve(app, {"F1": SAMPLE.read_bytes()})
    staff = await Chat.staff(app, "9001")
    await send_file(staff, "F1", "sample-children.xlsx")
    await staff.send("1")
    assert "Đã nhập 6 hồ sơ" in staff.text


async def test_cancel_then_a_late_confirm_imports_nothing(app: App) -> None:
    serve(app, {"F1": SAMPLE.read_bytes()})
    staff = await Chat.staff(app, "9001")
    await send_file(staff, "F1", "sample-children.xlsx")
    ok = confirm_button(staff)
    await staff.press(ok.replace(":ok:", ":no:"))
    assert "Đã hủy. Không có gì được nhập." in staff.text
    await staff.press(ok)
    assert "Lần nhập này đã được hủy" in staff.text
    assert await count_cases(app) == 0


async def test_a_province_for_rows_without_one(app: App) -> None:
    content = xlsx([["Họ tên", "Năm sinh", "Xã", "Hoàn cảnh"], ["Lò Văn A", 2014, "Bản Hồ", "Mồ côi"]])
    serve(app, {"F2": content})
    staff = await Chat.staff(app, "9001")
    await send_file(staff, "F2", "ds.xlsx")
    assert "Thiếu cột: tỉnh/thành" in staff.text and not any(d.startswith("m:nhap:ok") for d in staff.button_data())
    await send_file(staff, "F2", "ds.xlsx", "lao", "cai")
    assert "✅ Hợp lệ: 1 dòng" in staff.text
    await staff.press(confirm_button(staff))
    assert "Đã nhập 1 hồ sơ" in staff.text and "LCA-2026-000001" in staff.text
    await send_file(staff, "F2", "ds.xlsx", "xyz")
    assert "Không xác định được tỉnh «xyz»" in staff.text


async def test_a_changed_file_or_someone_elses_button_is_refused(app: App) -> None:
    files = {"F1": SAMPLE.read_bytes()}
    serve(app, files)
    staff, other = await Chat.staff(app, "9001"), await Chat.staff(app, "9002")
    await send_file(staff, "F1", "sample-children.xlsx")
    ok = confirm_button(staff)
    await other.press(ok)
    assert "Lần kiểm tra này không còn dùng được" in other.text
    await other.press("m:nhap:ok:xyz")
    assert "Lần kiểm tra này không còn dùng được" in other.text
    files["F1"] = files["F1"] + b"\0"
    await staff.press(ok)
    assert "Tệp tải về khác với tệp đã kiểm tra" in staff.text
    assert await count_cases(app) == 0


async def test_a_check_expires_after_a_day(app: App, clock: Clock) -> None:
    from datetime import timedelta

    serve(app, {"F1": SAMPLE.read_bytes()})
    staff = await Chat.staff(app, "9001")
    await send_file(staff, "F1", "sample-children.xlsx")
    ok = confirm_button(staff)
    clock.now += timedelta(hours=25)
    await staff.press(ok)
    assert "đã quá 24 giờ" in staff.text
    assert await count_cases(app) == 0


async def test_only_staff_may_import(app: App, collaborator: Chat) -> None:
    serve(app, {"F1": SAMPLE.read_bytes()})
    await collaborator.event(command="nhap", document=("F1", "sample-children.xlsx"))
    assert "chỉ dành cho cán bộ" in collaborator.text
    async with app.db.transaction() as session:
        actions = list(await session.exec(select(AuditEntry.action)))
    assert "refused:/nhap" in actions and "import_check" not in actions


async def test_bad_files_and_channels_without_downloads(app: App) -> None:
    staff = await Chat.staff(app, "9001")
    app.fetch_file = None
    await send_file(staff, "F1", "sample-children.xlsx")
    assert "Kênh này chưa nhận được tệp" in staff.text
    serve(app, {"F1": b"%PDF-1.4"})
    await send_file(staff, "F1", "scan.pdf")
    assert "Chỉ nhận tệp Excel .xlsx hoặc .csv" in staff.text
    await send_file(staff, "F1", "old.xls")
    assert "Tệp .xls chưa đọc được" in staff.text

    async def broken(file_id: str) -> bytes:
        raise ConnectionError("telegram down")

    app.fetch_file = broken
    await send_file(staff, "F1", "ds.xlsx")
    assert "Không tải được tệp. Hãy gửi lại." in staff.text


async def test_a_long_report_comes_as_a_file_and_the_message_fits(app: App) -> None:
    rows: list[list[object]] = [["Họ tên", "Ngày sinh", "Tỉnh", "Xã", "Hoàn cảnh"]]
    rows += [[f"Lò Văn {i}", "31/02/2015", "Lào Cai", "Bản Hồ", "a"] for i in range(200)]
    rows += [["Lò Thị Hoa", "2015", "Lào Cai", "Bản Hồ", "a"]]
    serve(app, {"F3": xlsx(rows)})
    staff = await Chat.staff(app, "9001")
    await send_file(staff, "F3", "lon.xlsx")
    attached = [r.document for r in staff.replies if r.document]
    assert len(attached) == 1 and attached[0][0] == "kiem-tra-lon.txt"
    assert attached[0][1].decode().count("31/02/2015") == 200
    assert all(len(r.text) <= 4096 for r in staff.replies)
    assert "còn nữa" in staff.last.text and "1. ✅ Nhập 1 dòng" in staff.text


async def test_a_file_sent_without_the_caption_is_checked_too(app: App) -> None:
    serve(app, {"F1": SAMPLE.read_bytes()})
    staff = await Chat.staff(app, "9001")
    await staff.event(document=("F1", "sample-children.xlsx"))
    assert "✅ Hợp lệ: 6 dòng" in staff.text
