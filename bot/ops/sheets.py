"""Reading the lists provinces keep: an Excel workbook or a CSV file into rows of cells, with the
header row found and its columns mapped to report fields.

Real lists start with a title block ("UBND TỈNH ...", "DANH SÁCH TRẺ EM ..."), sometimes put
"Nam | Nữ" under a merged "Năm sinh" header (the year written in the column of the child's sex),
and often number their columns "(1) (2) (3)" on the row after the header. All of that is handled
here; what the cells mean is judged in importer.py with the chat form's own parsers.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from conversations.parsing.text import fold

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
HEADER_SCAN_ROWS = 25

# Header names, folded (no diacritics, lower case), for each field of the report form.
HEADERS: dict[str, tuple[str, ...]] = {
    "row_number": ("stt", "tt", "so tt", "so thu tu", "no"),
    "child_name": ("ho ten", "ho va ten", "ho ten tre", "ho va ten tre", "ho ten tre em", "ho va ten tre em", "ten tre", "ten tre em", "ten", "name", "full name", "child name", "child"),
    "birth": ("ngay sinh", "ngay thang nam sinh", "ngay/thang/nam sinh", "sinh ngay", "ngay sinh/tuoi", "ngay sinh/nam sinh", "ngay, thang, nam sinh", "date of birth", "dob", "birth", "birth date"),
    "birth_year": ("nam sinh", "year of birth", "birth year"),
    "age": ("tuoi", "do tuoi", "age"),
    "sex": ("gioi tinh", "gioi", "nam/nu", "phai", "sex", "gender"),
    "province": ("tinh", "tinh/thanh", "tinh/thanh pho", "tinh, thanh pho", "tinh thanh pho", "tinh thanh", "tinh/tp", "province"),
    "commune": ("xa", "xa/phuong", "phuong/xa", "xa, phuong", "xa phuong", "phuong", "xa/phuong/dac khu", "xa/phuong/thi tran", "commune", "ward", "commune/ward"),
    "commune_code": ("ma xa", "ma xa/phuong", "ma don vi", "commune code", "ward code"),
    "hamlet": ("thon", "thon/ban", "thon, ban", "thon ban", "thon/to", "thon/to dan pho", "thon/ban/to", "ban", "to dan pho", "dia chi", "noi o", "noi cu tru", "address", "hamlet", "village"),
    "whereabouts": ("noi o hien nay", "hien dang o", "dang o voi ai", "noi song hien nay", "whereabouts"),
    "groups": ("hoan canh", "hoan canh dac biet", "dien", "nhom", "nhom hoan canh", "doi tuong", "dien doi tuong", "nhom tre", "circumstances", "situation", "group", "groups"),
    "description": ("mo ta", "tinh trang", "tinh trang cua tre", "ghi chu", "description", "notes", "note"),
    "caregiver": ("nguoi cham soc", "ho ten nguoi cham soc", "ho va ten nguoi cham soc", "nguoi nuoi duong", "nguoi giam ho", "cha me/nguoi cham soc", "caregiver", "guardian"),
    "relation": ("quan he", "quan he voi tre", "relation", "relationship"),
    "caregiver_phone": ("dien thoai", "so dien thoai", "sdt", "dt", "so dt", "dien thoai lien he", "dien thoai nguoi cham soc", "so dien thoai nguoi cham soc", "phone", "phone number"),
    "household": ("ho gia dinh", "dien ho", "dien ho gia dinh", "ho ngheo/can ngheo", "ho ngheo, can ngheo", "household"),
    "household_poor": ("ho ngheo", "poor household"),
    "household_near_poor": ("ho can ngheo", "can ngheo", "near poor household"),
    "needs": ("nhu cau", "nhu cau ho tro", "nhu cau can ho tro", "can ho tro", "needs"),
    "amount": ("so tien", "so tien can", "so tien can ho tro", "kinh phi", "kinh phi du kien", "du kien kinh phi", "so tien du kien", "amount"),
    "donor_consent": ("dong y chia se", "dong y chia se voi nha hao tam", "dong y", "consent"),
}
_ALIASES = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
_TRAILING = ("cua tre em", "cua tre", "tre em", "hien nay")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NUMBERING = re.compile(r"^\(?\d{1,2}\)?$")

# "Nam | Nữ" sub-columns under these headers: the value sits in the column of the child's sex.
SPLIT_BY_SEX = {"birth": "birth", "birth_year": "birth", "age": "birth", "sex": "sex"}


class SheetError(Exception):
    """The file cannot be read as a list; `reason` is a code importer.py puts into words."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason, self.params = reason, params


@dataclass(frozen=True)
class Column:
    index: int  # 0-based
    header: str  # as written in the file
    field: str | None  # the report field it feeds; None: not used
    duplicate: bool = False  # a second column for a field already taken

    @property
    def letter(self) -> str:
        from openpyxl.utils import get_column_letter

        return get_column_letter(self.index + 1)


@dataclass
class Table:
    """A list as read: its columns and its data rows (with their row numbers in the file)."""

    sheet: str | None
    header_row: int
    columns: list[Column]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)

    def fields(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns if c.field and not c.duplicate}


def header_field(text: str) -> str | None:
    """The field a header names, with or without diacritics; None when it names none."""
    name = fold(_PARENS.sub(" ", text)).strip(" :*.-")
    name = re.sub(r"\s*([/,])\s*", lambda m: "/" if m[1] == "/" else ", ", name)
    name = re.sub(r"\s+", " ", name).strip()
    if name in _ALIASES:
        return _ALIASES[name]
    for tail in _TRAILING:
        if name.endswith(" " + tail) and name[: -len(tail) - 1] in _ALIASES:
            return _ALIASES[name[: -len(tail) - 1]]
    return None


def cell_text(value: Any) -> str | None:
    """A cell as the text a person would have typed (None when empty)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "co" if value else "khong"
    if isinstance(value, datetime):
        return f"{value.day}/{value.month}/{value.year}"
    if isinstance(value, date):
        return f"{value.day}/{value.month}/{value.year}"
    if isinstance(value, time):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text or None


def _read_xlsx(content: bytes, sheet: str | None) -> list[tuple[str, list[tuple[int, list[Any]]]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), data_only=True, read_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SheetError("unreadable") from exc
    names = workbook.sheetnames
    if sheet is not None:
        matches = [n for n in names if fold(n) == fold(sheet)]
        if not matches:
            raise SheetError("no_sheet", sheet=sheet, sheets=", ".join(names))
        names = matches
    out = []
    for name in names:
        ws = workbook[name]
        if not hasattr(ws, "reset_dimensions"):
            continue  # a chart sheet
        ws.reset_dimensions()  # some programs write a wrong size; read every row there is
        rows = [(number, list(values)) for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)]
        out.append((name, rows))
    workbook.close()
    return out


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            return unicodedata.normalize("NFC", content.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise SheetError("encoding")


def _read_csv(content: bytes) -> list[tuple[str | None, list[tuple[int, list[Any]]]]]:
    text = _decode(content)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [(i, list(values)) for i, values in enumerate(csv.reader(io.StringIO(text), dialect), start=1)]
    return [(None, rows)]


def _map_header(values: list[Any]) -> list[Column]:
    columns, taken = [], set()
    for index, value in enumerate(values):
        header = cell_text(value) or ""
        name = header_field(header) if header else None
        duplicate = name is not None and name in taken
        if name:
            taken.add(name)
        columns.append(Column(index, header, name, duplicate))
    return columns


def _score(columns: list[Column]) -> int:
    fields = {c.field for c in columns if c.field and c.field != "row_number"}
    return len(fields) if "child_name" in fields else 0


def _split_by_sex(columns: list[Column], below: list[Any]) -> list[Column] | None:
    """`Năm sinh` over `Nam | Nữ`: the two sub-columns become birth_male/birth_female (or
    sex_male/sex_female under `Giới tính`). None when the row below is not such a sub-header."""
    sub = {i: fold(cell_text(v) or "") for i, v in enumerate(below)}
    if sorted(v for v in sub.values() if v) != ["nam", "nu"]:
        return None
    original = list(columns) + [Column(i, "", None) for i in range(len(columns), len(below))]
    out = list(original)
    for index, word in sub.items():
        if word not in ("nam", "nu"):
            continue
        owner = next((c for c in reversed(original[: index + 1]) if c.field), None)
        if owner is None or owner.field not in SPLIT_BY_SEX:
            return None
        base = SPLIT_BY_SEX[owner.field]
        label = f"{owner.header} ({cell_text(below[index])})"
        out[index] = Column(index, label, f"{base}_{'male' if word == 'nam' else 'female'}")
    return out


def _is_numbering(values: list[Any]) -> bool:
    """The "(1) (2) (3)" row that numbers the columns under the header."""
    cells = [cell_text(v) for v in values if cell_text(v)]
    if len(cells) < 3 or not all(_NUMBERING.match(c) for c in cells):
        return False
    numbers = [int(c.strip("()")) for c in cells]
    return numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def _table(sheet: str | None, rows: list[tuple[int, list[Any]]]) -> Table | None:
    best: tuple[int, int] | None = None  # (score, position)
    for position, (_number, values) in enumerate(rows[:HEADER_SCAN_ROWS]):
        score = _score(_map_header(values))
        if score >= 3 and (best is None or score > best[0]):
            best = (score, position)
    if best is None:
        return None
    position = best[1]
    columns = _map_header(rows[position][1])
    start = position + 1
    if start < len(rows):
        split = _split_by_sex(columns, rows[start][1])
        if split is not None:
            columns, start = split, start + 1
    table = Table(sheet, rows[position][0], columns)
    for number, values in rows[start:]:
        if not any(cell_text(v) for v in values) or _is_numbering(values):
            continue
        table.rows.append((number, values))
    return table


def read(file_name: str, content: bytes, sheet: str | None = None) -> Table:
    """The list in a .xlsx or .csv file; the sheet with the best header when there are several."""
    if len(content) > MAX_BYTES:
        raise SheetError("too_big", limit=MAX_BYTES // (1024 * 1024))
    suffix = file_name.lower().rsplit(".", 1)[-1] if "." in file_name else ""
    if suffix in ("xlsx", "xlsm"):
        sheets = _read_xlsx(content, sheet)
    elif suffix in ("csv", "txt"):
        sheets = _read_csv(content)
    elif suffix in ("xls", "ods"):
        raise SheetError("old_format", suffix=suffix)
    else:
        raise SheetError("unknown_format", name=file_name)
    tables = [t for t in (_table(name, rows) for name, rows in sheets) if t is not None]
    if not tables:
        raise SheetError("no_header")
    table = max(tables, key=lambda t: _score(t.columns))
    if len(table.rows) > MAX_ROWS:
        raise SheetError("too_many_rows", rows=len(table.rows), limit=MAX_ROWS)
    return table
