"""Write docs/sample-children.xlsx: a list shaped like the ones provinces keep, to try `import`.

Run: .venv/bin/python docs/make_sample.py

A title block, a header row in Vietnamese with diacritics, the "(1) (2) (3)" numbering row, good
rows written the many ways people write them, and bad rows the import must refuse (each noted
below with the message it should give).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HEADERS = ["STT", "Họ và tên", "Giới tính", "Ngày sinh", "Tỉnh", "Xã/phường", "Thôn/bản", "Hoàn cảnh",
           "Nhu cầu hỗ trợ", "Số tiền (VNĐ)", "Người chăm sóc", "Điện thoại", "Hộ nghèo", "Ghi chú"]

# Rows start at spreadsheet row 6 (title rows 1-2, blank 3, header 4, numbering 5).
ROWS = [
    # 6: good: a real date cell, two needs, the amount goes to the first costed need
    ["Lò Văn Minh", "Nam", datetime(2016, 5, 12), "Lào Cai", "Xã Bản Hồ", "Thôn Bản Dền", "Mồ côi cả cha và mẹ",
     "Học tập; Y tế", "2.000.000", "Lò Thị Hoa (bà nội)", "0912 345 678", "x", "Bố mẹ mất năm 2024"],
    # 7: bad: 31 February does not exist (cột D)
    ["Giàng Thị Mỷ", "Nữ", "31/02/2015", "Lào Cai", "Bản Hồ", "Bản Pho", "Khuyết tật", "Y tế", 500000,
     "Giàng A Lử", "0987 111 222", "", ""],
    # 8: bad: no such commune in Lào Cai (cột F)
    ["Sùng A Páo", "Nam", 2014, "Lao Cai", "Xã Không Có Thật", "Bản Sín Chải", "Bỏ học kiếm sống", "Học bổng",
     "", "Sùng A Chứ", "", "x", ""],
    # 9: bad: 20 years old, not a child (cột D)
    ["Vàng Thị Dung", "Nữ", "20 tuổi", "Lào Cai", "Bản Hồ", "Bản Dền", "Có nguy cơ", "Tâm lý", "", "", "", "", ""],
    # 10: bad: the phone number is too short (cột L)
    ["Hoàng Văn Nam", "Nam", "khoảng 8 tuổi", "Lào Cai", "Sa Pa", "Tổ 5", "Bị bạo lực", "Tâm lý", "", "Hoàng Thị Lan",
     "0123", "", ""],
    # 11: bad: no name and no province (cột B and cột E)
    ["", "Nữ", 2017, "", "Bản Hồ", "Bản Pho", "Bị bỏ rơi", "Dinh dưỡng", "", "", "", "", ""],
    # 12: good, but the same child as an existing case reported in chat (Nguyễn Văn An, ~7, Bản Hồ)
    ["Nguyễn Văn An", "Nam", 2019, "Lào Cai", "Bản Hồ", "Thôn Bản Dền", "a, d", "Chăm sóc sức khỏe, Học tập",
     2000000, "Lò Thị Mai", "0912 345 678", "x", ""],
    # 13: good: no diacritics, an Article 10 letter (đ), "1tr5", an international phone form
    ["Thao Thi Chi", "nu", "12/3/2018", "lao cai", "ban ho", "Ban Den", "đ", "Dinh duong", "1tr5", "Thao A Su",
     "+84 987 654 321", "", ""],
    # 14: good: month and year only; near-poor written out
    ["Lý A Sình", "Nam", "3/2013", "Lào Cai", "Bản Hồ", "Bản Pho", "Bỏ học kiếm sống", "Học bổng", "3 triệu",
     "Lý Thị Sa", "", "Cận nghèo", ""],
    # 15: good, but the same child as row 13 (same name without diacritics, year, commune)
    ["Thào Thị Chi", "Nữ", 2018, "Lào Cai", "Bản Hồ", "Bản Dền", "Nhiễm HIV/AIDS", "Dinh dưỡng", "", "", "", "", ""],
    # 16: good: another commune, at risk
    ["Phạm Văn Tú", "Nam", 2012, "Lào Cai", "Phường Sa Pa", "Tổ 3", "Có nguy cơ rơi vào hoàn cảnh đặc biệt",
     "Tâm lý", "", "Phạm Thị Hằng", "0214 3840 123", "", ""],
    # 17: good: "Khác: …" keeps the description of the situation
    ["Tẩn Thị Mai", "Nữ", 2020, "Lào Cai", "Bản Hồ", "Bản Dền", "Khác: bố mẹ đi làm xa, ở với cụ",
     "Quần áo", "800k", "Tẩn Thị Dín", "", "x", ""],
]


def build() -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Danh sách"
    sheet["A1"] = "UBND TỈNH LÀO CAI"
    sheet["A2"] = "DANH SÁCH TRẺ EM CÓ HOÀN CẢNH ĐẶC BIỆT NĂM 2026"
    sheet["A1"].font = sheet["A2"].font = Font(bold=True)
    sheet.merge_cells("A2:N2")
    sheet["A2"].alignment = Alignment(horizontal="center")
    sheet.append([])
    sheet.append(HEADERS)
    sheet.append([f"({i})" for i in range(1, len(HEADERS) + 1)])
    for number, row in enumerate(ROWS, start=1):
        sheet.append([number, *row])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=6, min_col=4, max_col=4):
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "DD/MM/YYYY"
    for letter, width in zip("ABCDEFGHIJKLMN", (5, 20, 9, 12, 10, 18, 14, 30, 24, 13, 20, 16, 9, 20), strict=True):
        sheet.column_dimensions[letter].width = width
    fixed = datetime(2026, 11, 24)
    workbook.properties.created = workbook.properties.modified = fixed
    workbook.properties.creator = "Chung Tay"
    return workbook


def main() -> None:
    target = Path(__file__).with_name("sample-children.xlsx")
    build().save(target)
    print(target)


if __name__ == "__main__":
    main()
