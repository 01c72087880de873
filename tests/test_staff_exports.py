"""Charts and workbooks are produced and opened back: the PNG has the expected size and shows
Vietnamese letters with a real font; openpyxl reads the workbook; the CSV parses; the
anonymised variant has no personal column; times are Vietnam time."""

from __future__ import annotations

import csv
import io
import struct
import warnings
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from bot.app import App
from bot.staff import charts
from bot.staff.exports import parse_period
from storage import cases, people, pledges
from tests.support import Chat, Clock
from tests.test_staff_helpers import STAFF, audit_actions, make_case, reported, set_role


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_a_chart_renders_vietnamese_labels_with_a_font_that_has_them() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font" when a letter is missing
        png = charts.render("Số trẻ theo nhóm hoàn cảnh · Đắk Lắk", ["Bị xâm hại tình dục", "Mồ côi cả cha và mẹ", "Nhiễm HIV/AIDS"],
                            [charts.Series("Trẻ trong danh sách", [12, 2, 0], "#4C72B0"), charts.Series("Được hỗ trợ", [5, 1, 0], "#55A868")],
                            horizontal=True, note="Ô dưới 3 trẻ ghi «<3».")
    assert png_size(png) == (charts.WIDTH * charts.DPI, charts.HEIGHT * charts.DPI) == (1200, 700)
    from matplotlib.font_manager import FontProperties, findfont

    font = findfont(FontProperties(family=charts.FONT), fallback_to_default=False)
    assert "DejaVuSans" in font
    from matplotlib.ft2font import FT2Font

    face = FT2Font(font)
    for letter in "ĐđẮắẶặỄễỘộỨứỰựỷỹ":
        assert face.get_char_index(ord(letter)), letter


async def test_chart_command_sends_a_png(app: App, collaborator: Chat) -> None:
    for _ in range(4):
        await make_case(app, reporter="501")
    staff = Chat(app, STAFF)
    await staff.send("/bieudo")
    assert "Chọn loại biểu đồ" in staff.text and "m:bieudo:tinh" in staff.button_data()
    for kind, title in (("tinh", "Số trẻ theo tỉnh/thành"), ("nhom", "Số trẻ theo nhóm hoàn cảnh"), ("thang", "Số trẻ theo tháng"),
                        ("trangthai", "Hồ sơ theo trạng thái"), ("baophu", "Độ bao phủ"), ("xa lao cai", "Số trẻ theo xã/phường · Lào Cai")):
        await staff.send(f"/chart {kind}")
        [reply] = staff.replies
        assert reply.image is not None and png_size(reply.image) == (1200, 700), kind
        assert title in reply.text, kind
    await staff.press("m:bieudo:xa:15")
    assert staff.replies[0].image is not None
    await staff.send("/bieudo sao hoa")
    assert "Không hiểu «sao hoa»" in staff.text and staff.replies[0].image is None


def test_parse_period() -> None:
    from datetime import date

    today = date(2026, 11, 24)
    period = parse_period(("andanh", "tu", "1/1/2026", "den", "31/3/2026"), today)
    assert not isinstance(period, str)
    assert (period.anonymous, period.start, period.end) == (True, date(2026, 1, 1), date(2026, 3, 31))
    assert parse_period(("an", "danh"), today).anonymous  # type: ignore[union-attr]
    yesterday = parse_period(("từ", "hôm", "qua", "đến", "hôm", "nay"), today)
    assert not isinstance(yesterday, str) and (yesterday.start, yesterday.end) == (date(2026, 11, 23), today)
    assert "không có thật" in parse_period(("tu", "31/2/2026"), today)  # type: ignore[operator]
    assert "phải trước" in parse_period(("tu", "2/2/2026", "den", "1/2/2026"), today)  # type: ignore[operator]
    assert "Gõ /xuat" in parse_period(("linh", "tinh"), today)  # type: ignore[operator]


@pytest.fixture
async def exported(app: App, collaborator: Chat, clock: Clock) -> tuple[Chat, str]:
    code = await reported(collaborator)  # a real report: Nguyễn Văn An, with every answer
    staff = Chat(app, STAFF)
    await staff.send(f"/xacminh {code}")
    await staff.send(f"/congbo {code}")
    await set_role(app, "601", "donor")
    async with app.db.transaction() as session:  # a donor pledges 300k for the health need
        case = await cases.by_code(session, code)
        donor = await people.find(session, "telegram", "601")
        assert case is not None and donor is not None and case.id is not None and donor.id is not None
        need = next(n for n in await cases.needs_of(session, case.id) if n.kind == "health")
        assert need.id is not None and await pledges.reserve(session, need.id, 300_000)
        await pledges.create(session, donor_id=donor.id, case_id=case.id, need_id=need.id, kind="money", amount=300_000,
                             contact="+84988777666", message="Chúc cháu mau khỏe", now=clock.now)
    await staff.send(f"/hotro {code}")
    await staff.answers("3", "Học bổng học kỳ 1", "1tr5", "hôm nay", "gửi")
    clock.now -= timedelta(days=40)
    await make_case(app, reporter="501")  # an older one, outside the period below
    clock.now += timedelta(days=40)
    return staff, code


async def test_full_export_opens_back_with_personal_columns(app: App, exported: tuple[Chat, str]) -> None:
    staff, code = exported
    await staff.send("/xuat tu 1/11/2026 den 30/11/2026")
    book_reply, csv_reply = staff.replies
    assert "Đã xuất 1 hồ sơ, 2 nhu cầu, 1 cam kết, 1 lần hỗ trợ" in book_reply.text and "dữ liệu cá nhân" in book_reply.text
    assert book_reply.document is not None and book_reply.document[0] == "chungtay-2026-11-24.xlsx"
    book = load_workbook(io.BytesIO(book_reply.document[1]))
    assert book.sheetnames == ["Hồ sơ", "Nhu cầu và cam kết", "Các cam kết", "Hỗ trợ đã trao", "Tổng hợp"]
    rows = list(book["Hồ sơ"].iter_rows(values_only=True))
    header, [row] = rows[0], rows[1:]
    record = dict(zip(header, row, strict=True))
    assert record["Mã hồ sơ"] == code and record["Họ tên trẻ"] == "Nguyễn Văn An"
    assert record["Điện thoại người chăm sóc"] == "0912 345 678" and record["Thôn/bản/tổ"] == "Thôn Bản Dền"
    assert record["Ngày báo (giờ Việt Nam)"] == datetime(2026, 11, 24, 10, 0)  # 03:00 UTC is 10:00 in Hanoi
    assert record["Tỉnh/thành"] == "Lào Cai" and record["Xã/phường"] == "Xã Bản Hồ" and record["Trạng thái"] == "Đã được hỗ trợ"
    assert record["Hoàn cảnh"] == "Mồ côi cả cha và mẹ; Khuyết tật" and record["Năm sinh"] == 2019
    needs = list(book["Nhu cầu và cam kết"].iter_rows(values_only=True))[1:]
    assert sorted((n[1], n[2]) for n in needs) == [("Chăm sóc sức khỏe", 500_000), ("Học tập, học bổng", 1_500_000)]
    [pledge] = list(book["Các cam kết"].iter_rows(values_only=True))[1:]
    assert pledge[1:7] == (code, "Chăm sóc sức khỏe", "Tiền", 300_000, None, "Chờ xác nhận") and pledge[0].startswith("UH-")
    [delivery] = list(book["Hỗ trợ đã trao"].iter_rows(values_only=True))[1:]
    assert delivery[:4] == (code, "Học tập, học bổng", "Học bổng học kỳ 1", 1_500_000)
    summary = dict(book["Tổng hợp"].iter_rows(values_only=True))
    assert summary["Số hồ sơ"] == 1 and summary["Trẻ được hỗ trợ"] == 1 and summary["Độ bao phủ"] == 1
    assert summary["Tổng số tiền ước tính (VND)"] == 2_000_000 and summary["Giá trị hỗ trợ đã trao (VND)"] == 1_500_000
    assert summary["Đã cam kết (VND)"] == 300_000
    everything = "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
    assert "+84988777666" not in everything and "Chúc cháu mau khỏe" not in everything  # the donor's own words stay out

    assert csv_reply.document is not None and csv_reply.document[0].endswith(".csv")
    content = csv_reply.document[1].decode("utf-8")
    assert content.startswith("\ufeff")
    [csv_header, csv_row] = list(csv.reader(io.StringIO(content[1:])))
    assert csv_header == list(header)
    assert dict(zip(csv_header, csv_row, strict=True))["Ngày báo (giờ Việt Nam)"] == "2026-11-24T10:00+07:00"
    assert (await audit_actions(app))[-1] == "export"


async def test_anonymised_export_has_no_personal_column(app: App, exported: tuple[Chat, str]) -> None:
    staff, _code = exported
    await staff.send("/xuat andanh")
    book_reply, csv_reply = staff.replies
    assert "Đã xuất 2 hồ sơ" in book_reply.text and "Bản ẩn danh" in book_reply.text
    assert book_reply.document is not None and book_reply.document[0] == "chungtay-andanh-2026-11-24.xlsx"
    book = load_workbook(io.BytesIO(book_reply.document[1]))
    everything = "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
    assert csv_reply.document is not None
    everything += csv_reply.document[1].decode("utf-8")
    for secret in ("Nguyễn Văn An", "Thôn Bản Dền", "0912 345 678", "+84912345678", "Lò Thị Mai", "bà ngoại", "Học bổng học kỳ 1", "2019",
                   "+84988777666", "Chúc cháu mau khỏe"):
        assert secret not in everything, secret
    header = next(book["Hồ sơ"].iter_rows(values_only=True))
    assert "Nhóm tuổi" in header and "Họ tên trẻ" not in header and "Năm sinh" not in header
    assert {r[header.index("Nhóm tuổi")] for r in list(book["Hồ sơ"].iter_rows(values_only=True))[1:]} == {"6–10"}


async def test_export_of_an_empty_period_and_bad_dates(app: App) -> None:
    staff = Chat(app, STAFF)
    await staff.send("/xuat")
    assert "Không có hồ sơ nào trong khoảng thời gian này" in staff.text
    await staff.send("/export tu 30/2/2026")
    assert "không có thật" in staff.text
