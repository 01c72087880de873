"""Importing the lists provinces keep: the sample workbook, headers with or without diacritics,
the same parsers as the chat form, duplicates, one transaction, and the CLI."""

from __future__ import annotations

import argparse
import io
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import col, func, select

from bot.app import App
from bot.ops import cli as ops_cli
from bot.ops import importer, sheets
from bot.settings import Settings
from storage import cases
from storage.audit import AuditEntry
from storage.models import Case, Need
from tests.support import Chat
from tests.test_report_scenarios import FULL_REPORT

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "sample-children.xlsx"
TODAY = date(2026, 11, 24)
BAN_HO, SA_PA, LAO_CAI = 3046, 3006, 15


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def check(app: App, name: str, content: bytes, **kw: object) -> importer.Report:
    async with app.db.transaction() as session:
        return await importer.check(session, name, content, today=TODAY, **kw)  # type: ignore[arg-type]


async def count_cases(app: App) -> int:
    async with app.db.transaction() as session:
        return (await session.exec(select(func.count()).select_from(Case))).one()


async def all_cases(app: App) -> list[Case]:
    async with app.db.transaction() as session:
        rows = list(await session.exec(select(Case).order_by(col(Case.id))))
        for row in rows:
            session.expunge(row)
        return rows


async def reported_in_chat(app: App) -> None:
    """The case a collaborator reported in chat: Nguyễn Văn An, about 7, Bản Hồ (row 12's twin)."""
    chat = await Chat.collaborator(app, user="501")
    await chat.send("/baocao")
    await chat.answers(*FULL_REPORT)
    await chat.send("gửi")
    assert "LCA-2026-000001" in chat.text


# ---- the sample workbook ------------------------------------------------------------------------


async def test_sample_workbook_report_names_every_bad_cell(app: App) -> None:
    await reported_in_chat(app)
    report = await check(app, SAMPLE.name, SAMPLE.read_bytes())

    assert not report.errors and report.header_row == 4 and report.sheet == "Danh sách"
    assert [r.number for r in report.accepted] == [6, 13, 14, 16, 17]
    problems = {r.number: [(p.column.letter if p.column else None) for p in r.problems] for r in report.rejected}
    assert problems == {7: ["D"], 8: ["F"], 9: ["D"], 10: ["L"], 11: ["B", "E"]}
    assert {r.number: (r.duplicate_of, r.duplicate_row) for r in report.duplicates} == {12: ("LCA-2026-000001", None), 15: (None, 13)}

    text, cut = importer.render(report)
    assert not cut
    assert "✅ Hợp lệ: 5 dòng" in text and "❌ Bị từ chối: 5 dòng" in text and "⚠️ Có thể trùng: 2 dòng" in text
    assert "• dòng 7, cột D (Ngày sinh): Ngày 31/02/2015 không có thật" in text
    assert "• dòng 8, cột F (Xã/phường): Không tìm thấy xã/phường «Xã Không Có Thật»" in text
    assert "• dòng 9, cột D (Ngày sinh): Mẫu này chỉ dành cho trẻ dưới 18 tuổi" in text
    assert "• dòng 10, cột L (Điện thoại): Số điện thoại chưa đúng" in text
    assert "• dòng 11:\n   – cột B (Họ và tên): Chưa có họ tên" in text and "   – cột E (Tỉnh): Chưa có tỉnh/thành." in text
    assert "• dòng 12: giống hồ sơ LCA-2026-000001 đã có" in text and "• dòng 15: giống dòng 13 trong tệp" in text
    assert "Cột đã nhận: B «Họ và tên», C «Giới tính», D «Ngày sinh»" in text
    # a dry run writes nothing
    assert await count_cases(app) == 1


async def test_sample_rows_become_what_the_form_would_store(app: App) -> None:
    report = await check(app, SAMPLE.name, SAMPLE.read_bytes())
    rows = {r.number: r.answers for r in report.accepted + report.duplicates}
    assert rows[6]["birth"]["dob"] == "2016-05-12" and rows[6]["birth"]["estimated"] is False  # a date cell
    assert rows[6]["needs"] == ["health", "education"] and rows[6]["amount_education"] == 2_000_000  # first need written
    assert rows[6]["household"] == "poor" and rows[6]["caregiver_phone"] == "+84912345678"
    assert rows[13]["groups"] == ["dd"] and rows[13]["sex"] == "female" and rows[13]["amount_nutrition"] == 1_500_000
    assert rows[13]["caregiver_phone"] == "+84987654321" and rows[13]["commune"] == BAN_HO
    assert rows[14]["birth"] == {"dob": None, "birth_year": 2013, "age_years": 13, "age_months": None, "estimated": True}
    assert rows[14]["household"] == "near_poor" and rows[14]["amount_education"] == 3_000_000
    assert rows[16]["commune"] == SA_PA and rows[16]["groups"] == ["risk"] and rows[16]["caregiver_phone"] == "+842143840123"
    assert rows[17]["groups"] == ["other"] and rows[17]["other_situation"] == "bố mẹ đi làm xa, ở với cụ"
    assert rows[12]["groups"] == ["a", "d"]


async def test_import_creates_the_accepted_rows_with_their_source(app: App, clock) -> None:
    await reported_in_chat(app)
    report = await check(app, SAMPLE.name, SAMPLE.read_bytes())
    async with app.db.transaction() as session:
        codes = await importer.apply(session, report, reporter_id=None, now=clock.now)
    assert codes == [f"LCA-2026-00000{n}" for n in range(2, 7)]

    imported = [c for c in await all_cases(app) if c.source != "chat"]
    assert [c.source for c in imported] == ["import:sample-children.xlsx"] * 5
    first = imported[0]
    assert (first.province_code, first.commune_code, first.sex, first.birth_year, first.age_years) == (LAO_CAI, BAN_HO, "male", 2016, 10)
    assert first.groups == ["a"] and first.household == "poor" and first.status == "new" and first.danger is False
    assert first.personal == {
        "child_name": "Lò Văn Minh",
        "birth": {"dob": "2016-05-12", "birth_year": 2016, "age_years": 10, "age_months": None, "estimated": False},
        "hamlet": "Thôn Bản Dền", "caregiver": "Lò Thị Hoa (bà nội)", "caregiver_phone": "+84912345678",
        "description": "Bố mẹ mất năm 2024",
    }
    assert first.priority > 0 and first.priority_parts
    async with app.db.transaction() as session:
        needs = {n.kind: n.amount for n in await session.exec(select(Need).where(Need.case_id == first.id))}
        trail = list(await session.exec(select(AuditEntry).where(AuditEntry.action == "import").order_by(col(AuditEntry.id))))
    assert needs == {"health": None, "education": 2_000_000}
    assert [e.detail for e in trail] == [f"sample-children.xlsx#{n}" for n in (6, 13, 14, 16, 17)]
    # checking again now finds every imported row a duplicate of its own case
    again = await check(app, SAMPLE.name, SAMPLE.read_bytes())
    assert not again.accepted and {r.duplicate_of for r in again.duplicates} >= set(codes)


async def test_import_is_one_transaction(app: App, clock, monkeypatch: pytest.MonkeyPatch) -> None:
    report = await check(app, SAMPLE.name, SAMPLE.read_bytes())
    real_create, calls = cases.create, []

    async def failing_create(*args, **kw):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("disk full")
        return await real_create(*args, **kw)

    monkeypatch.setattr(importer.cases, "create", failing_create)
    with pytest.raises(RuntimeError):
        async with app.db.transaction() as session:
            await importer.apply(session, report, reporter_id=None, now=clock.now)
    assert len(calls) == 4
    assert await count_cases(app) == 0


# ---- other shapes of lists ------------------------------------------------------------------


async def test_csv_without_diacritics_semicolons_and_a_default_province(app: App) -> None:
    content = "\n".join([
        "Ho ten;Nam sinh;Gioi tinh;Xa;Thon;Hoan canh;Nhu cau;So tien;Dien thoai;Ho ngheo",
        "Vang A Cho;2015;nam;ban ho;Ban Den;khuyet tat;y te;500k;0912345678;x",
        "Giang Thi Sua;8 tuoi;nu;sa pa;To 1;tre bi bo roi + mo coi;an uong, hoc tap;;;can ngheo",
        "Ly Thi Mai;2030;nu;ban ho;;a;;;;",
    ]).encode("utf-8")
    report = await check(app, "ds.csv", content, default_province=LAO_CAI)
    assert not report.errors
    [first, second] = report.accepted
    assert first.answers["groups"] == ["d"] and first.answers["needs"] == ["health"] and first.answers["amount_health"] == 500_000
    assert first.answers["commune"] == BAN_HO and first.answers["province"] == LAO_CAI and first.answers["household"] == "poor"
    assert second.answers["groups"] == ["a", "b"] and second.answers["needs"] == ["nutrition", "education"]
    assert second.answers["commune"] == SA_PA and second.answers["household"] == "near_poor"
    [bad] = report.rejected
    assert bad.number == 4 and bad.problems[0].column.letter == "B"
    assert "Năm sinh 2030 chưa tới" in importer.render(report)[0]


def cp1258(text: str) -> bytes:
    """Windows-1258 as Excel writes it: base letters precomposed, tone marks combining."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = b""
    for ch in text:
        marks = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(m for m in marks if m not in tones))
        out += base.encode("cp1258") + "".join(m for m in marks if m in tones).encode("cp1258")
    return out


async def test_windows_vietnamese_csv_is_read(app: App) -> None:
    text = "Họ tên,Năm sinh,Tỉnh,Xã,Hoàn cảnh\nLò Văn Tỏ,2016,Lào Cai,Bản Hồ,Khuyết tật\n"
    content = cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    report = await check(app, "ds.csv", content)
    assert [r.answers["child_name"] for r in report.accepted] == ["Lò Văn Tỏ"]


async def test_birth_year_split_by_sex_under_a_merged_header(app: App) -> None:
    content = xlsx([
        ["DANH SÁCH TRẺ EM"],
        ["TT", "Họ và tên", "Năm sinh", None, "Tỉnh", "Xã", "Hoàn cảnh"],
        [None, None, "Nam", "Nữ", None, None, None],
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)"],
        [1, "Lò Văn A", 2014, None, "Lào Cai", "Bản Hồ", "Mồ côi"],
        [2, "Lò Thị B", None, 2016, "Lào Cai", "Bản Hồ", "Khuyết tật"],
    ])
    report = await check(app, "ds.xlsx", content)
    assert [(r.number, r.answers["sex"], r.answers["birth"]["birth_year"]) for r in report.accepted] == [(5, "male", 2014), (6, "female", 2016)]


async def test_missing_required_columns_are_named(app: App) -> None:
    report = await check(app, "ds.xlsx", xlsx([["Họ tên", "Lớp"], ["Lò Văn A", "3A"]]))
    assert not report.rows
    assert "Không tìm thấy dòng tiêu đề" in importer.render(report)[0]

    report = await check(app, "ds.xlsx", xlsx([["Họ tên", "Ngày sinh", "Giới tính"], ["Lò Văn A", 2014, "Nam"]]))
    assert not report.rows
    assert "Thiếu cột: xã/phường, hoàn cảnh, tỉnh/thành." in importer.render(report)[0]
    report = await check(app, "ds.xlsx", xlsx([["Họ tên", "Ngày sinh", "Xã", "Hoàn cảnh"], ["Lò Văn A", 2014, "Bản Hồ", "a"]]),
                         default_province=LAO_CAI)
    assert [r.answers["commune"] for r in report.accepted] == [BAN_HO]


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("ds.xls", b"\xd0\xcf\x11\xe0", "Tệp .xls chưa đọc được"),
    ("ds.pdf", b"%PDF", "Chỉ nhận tệp Excel .xlsx hoặc .csv"),
    ("ds.xlsx", b"not a zip at all", "Không đọc được tệp Excel này"),
    ("ds.csv", b"a,b\n1,2\n", "Không tìm thấy dòng tiêu đề"),
])
async def test_unreadable_files_get_a_clear_message(app: App, name: str, content: bytes, expected: str) -> None:
    report = await check(app, name, content)
    assert expected in importer.render(report)[0] and not report.rows


def test_headers_are_recognised_with_or_without_diacritics() -> None:
    for header, field in [
        ("Họ và tên", "child_name"), ("HO TEN", "child_name"), ("Họ tên trẻ em", "child_name"),
        ("Ngày sinh (dd/mm/yyyy)", "birth"), ("ngay sinh", "birth"), ("Năm sinh", "birth_year"),
        ("Giới tính", "sex"), ("Tỉnh/Thành phố", "province"), ("Xã / phường", "commune"), ("xa", "commune"),
        ("Thôn/bản", "hamlet"), ("Hoàn cảnh", "groups"), ("Nhu cầu hỗ trợ", "needs"), ("Số tiền (VNĐ)", "amount"),
        ("Người chăm sóc", "caregiver"), ("Số điện thoại", "caregiver_phone"), ("SĐT", "caregiver_phone"),
        ("Hộ nghèo", "household_poor"), ("Hộ nghèo/cận nghèo", "household"), ("STT", "row_number"),
    ]:
        assert sheets.header_field(header) == field, header
    assert sheets.header_field("Họ tên cha/mẹ") is None  # a parent's name is not the child's
    assert sheets.header_field("Ghi chú nội bộ") is None


async def test_a_bad_date_gets_the_same_message_as_in_chat(app: App) -> None:
    chat = await Chat.collaborator(app, user="502")
    await chat.send("/baocao")
    await chat.answers("Lò Văn A", "nam", "31/02/2015")
    in_chat = chat.text.split("\n")[0].removeprefix("⚠️ ")
    report = await check(app, "ds.csv", "Họ tên,Ngày sinh,Tỉnh,Xã,Hoàn cảnh\nLò Văn A,31/02/2015,Lào Cai,Bản Hồ,a\n".encode())
    assert report.rejected[0].problems[0].render() == in_chat


async def test_likely_duplicates_allow_a_year_either_way_only_when_estimated(app: App, clock) -> None:
    async with app.db.transaction() as session:
        for name, year, estimated in (("Hầu A Dê", 2015, True), ("Hầu Thị Mỷ", 2015, False)):
            data = cases.CaseData(province_code=LAO_CAI, commune_code=BAN_HO, birth_year=year, age_estimated=estimated,
                                  groups=("a",), personal={"child_name": name})
            await cases.create(session, data, prefix="LCA", reporter_id=None, now=clock.now)
    content = "Họ tên,Ngày sinh,Tỉnh,Xã,Hoàn cảnh\nHau A De,12/3/2016,Lào Cai,Bản Hồ,a\nHau Thi My,12/3/2016,Lào Cai,Bản Hồ,a\nHầu A Dê,2015,Lào Cai,Bắc Hà,a\n"
    report = await check(app, "ds.csv", content.encode())
    assert [r.number for r in report.duplicates] == [2]  # estimated 2015 ~ 2016; the exact one differs; another commune
    assert [r.number for r in report.accepted] == [3, 4]


# ---- the CLI ------------------------------------------------------------------------------------


def _args(*argv: str) -> argparse.Namespace:
    from bot.cli import _parser

    return _parser().parse_args(list(argv))


async def test_cli_dry_run_then_import(app: App, settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    await reported_in_chat(app)
    assert await ops_cli.dispatch(_args("import", str(SAMPLE), "--dry-run"), settings) == 0
    out = capsys.readouterr().out
    assert "• dòng 7, cột D (Ngày sinh)" in out and "Chạy thử: chưa nhập gì" in out
    assert await count_cases(app) == 1

    report_file = tmp_path / "report.txt"
    assert await ops_cli.dispatch(_args("import", str(SAMPLE), "--report", str(report_file)), settings) == 0
    out = capsys.readouterr().out
    assert "Đã nhập 5 hồ sơ: LCA-2026-000002 … LCA-2026-000006." in out and "import:sample-children.xlsx" in out
    assert "dòng 11" in report_file.read_text() and report_file.stat().st_mode & 0o077 == 0
    assert await count_cases(app) == 6

    assert await ops_cli.dispatch(_args("import", str(SAMPLE), "--province", "không có tỉnh này"), settings) == 2
    assert "Không xác định được tỉnh" in capsys.readouterr().out


def test_sample_workbook_is_what_the_script_builds(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_sample", SAMPLE.with_name("make_sample.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = tmp_path / "built.xlsx"
    module.build().save(built)
    committed, fresh = sheets.read("a.xlsx", SAMPLE.read_bytes()), sheets.read("a.xlsx", built.read_bytes())
    normalise = [[v for v in row] for _n, row in committed.rows]
    assert normalise == [[v for v in row] for _n, row in fresh.rows]
    assert len(committed.rows) == 12 and isinstance(committed.rows[0][1][3], datetime)
