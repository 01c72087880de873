"""Importing a province's existing list of children: check every row, then create the cases.

Each cell is judged by the very field of the report form that asks for it in chat (Text, Choice,
DateOrAge, Place, Phone, Money, MultiChoice of conversations/report.py), so an imported case is
exactly what a collaborator could have reported, and a rejected cell gets the message a
collaborator would have seen. Rows become answers like the form's, then a CaseData through the
same function the form uses, so personal fields land in the encrypted document the same way.

Likely duplicates (same name without diacritics, same commune, same or adjacent birth year when
either is estimated) of existing cases or of earlier rows are reported and not imported.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import N_, _, t
from bot.ops import sheets
from bot.ops.sheets import Column, SheetError, Table
from bot.roles.collaborator import case_data
from conversations.categories import (
    ARTICLE_10_GROUPS,
    NEEDS,
)
from conversations.fields import Context as FieldContext
from conversations.fields import Input, Option, Pending, is_number, match_option
from conversations.parsing import places
from conversations.parsing.errors import ParseError
from conversations.parsing.text import fold
from conversations.report import COSTED_NEEDS, REPORT_FORM
from storage import audit, cases
from storage.models import Case

SOURCE_PREFIX = "import:"
SOURCE_MAX = 32  # Case.source column width

SHEET_ERRORS = {
    "unreadable": N_("Không đọc được tệp Excel này. Hãy mở bằng Excel hoặc LibreOffice rồi lưu lại dưới dạng .xlsx."),
    "no_sheet": N_("Không có trang «{sheet}». Các trang trong tệp: {sheets}."),
    "encoding": N_("Không đọc được chữ trong tệp CSV. Hãy lưu lại với bảng mã UTF-8."),
    "too_big": N_("Tệp lớn quá (tối đa {limit} MB). Hãy chia thành nhiều tệp nhỏ hơn."),
    "old_format": N_("Tệp .{suffix} chưa đọc được. Hãy mở bằng Excel hoặc LibreOffice và lưu lại dưới dạng .xlsx (hoặc .csv)."),
    "unknown_format": N_("Chỉ nhận tệp Excel .xlsx hoặc .csv; «{name}» không phải."),
    "no_header": N_("Không tìm thấy dòng tiêu đề. Cần một dòng có ít nhất các cột: họ tên, ngày sinh (hoặc năm sinh), xã, hoàn cảnh."),
    "too_many_rows": N_("Tệp có {rows} dòng, quá {limit} dòng cho một lần nhập. Hãy chia thành nhiều tệp."),
}

REQUIRED_COLUMNS = {
    "child_name": N_("họ tên"),
    "birth": N_("ngày sinh, năm sinh hoặc tuổi"),
    "commune": N_("xã/phường"),
    "groups": N_("hoàn cảnh"),
    "province": N_("tỉnh/thành"),
}
BIRTH_COLUMNS = ("birth", "birth_year", "age", "birth_male", "birth_female")
MISSING = {
    "child_name": N_("Chưa có họ tên. Ghi «chưa rõ» nếu không biết."),
    "birth": N_("Chưa có ngày sinh, năm sinh hoặc tuổi."),
    "province": N_("Chưa có tỉnh/thành."),
    "commune": N_("Chưa có xã/phường."),
    "groups": N_("Chưa có hoàn cảnh của trẻ."),
}
MSG_AMBIGUOUS_PLACE = N_("Có {n} nơi khớp «{text}»: {names}. Hãy ghi tên đầy đủ hơn.")
MSG_GROUP_NUMBER = N_("Hãy ghi hoàn cảnh bằng chữ (ví dụ: mồ côi, khuyết tật) hoặc chữ cái theo Điều 10 Luật Trẻ em (a, b, c, d, đ…), không ghi số.")
MSG_NEED_NUMBER = N_("Hãy ghi nhu cầu bằng chữ (ví dụ: y tế, học tập, dinh dưỡng), không ghi số.")
MSG_UNKNOWN_GROUP = N_("Không nhận ra hoàn cảnh «{text}». Ghi ví dụ: mồ côi, bị bỏ rơi, khuyết tật, HIV, bỏ học, bạo lực, có nguy cơ, «Khác: …», hoặc chữ cái Điều 10 (a, b, c, d, đ…).")
MSG_UNKNOWN_NEED = N_("Không nhận ra nhu cầu «{text}». Ghi ví dụ: y tế, dinh dưỡng, học tập, nhà ở, pháp lý, tâm lý, quần áo, vui chơi, khác.")
MSG_UNKNOWN_OPTION = N_("Không nhận ra «{text}». Ghi một trong: {options}.")
OTHER_PREFIX = re.compile(r"\b(?:kh[a\u00e1]c|other)\s*:", re.IGNORECASE)

# Article 10 letters as written in lists ("điểm đ"); "đ" is a letter of its own, not "d".
GROUP_LETTERS = {"a": "a", "b": "b", "c": "c", "d": "d", "\u0111": "dd", "dd": "dd", "e": "e", "g": "g", "h": "h",
                 "i": "i", "k": "k", "l": "l", "m": "m", "n": "n", "o": "o"}
# Words lists use for needs that are not the start of a label (folded).
NEED_WORDS = {
    "y te": "health", "suc khoe": "health", "kham chua benh": "health", "thuoc": "health", "bhyt": "health",
    "bao hiem y te": "health", "an uong": "nutrition", "gao": "nutrition", "luong thuc": "nutrition",
    "hoc phi": "education", "sach vo": "education", "di hoc": "education", "sua nha": "housing",
    "xay nha": "housing", "giay khai sinh": "legal", "tam ly": "psych", "tu van": "psych",
    "giai tri": "play",
}
SEX_WORDS = {"m": "male", "trai": "male", "be trai": "male", "f": "female", "gai": "female", "be gai": "female"}
TICKS = frozenset({"x", "co", "1", "v", "yes", "true", "\u2713", "\u2714"})
HOUSEHOLD_WORDS = {"ngheo": "poor", "can ngheo": "near_poor", "khong": "neither"}


@dataclass(frozen=True)
class Problem:
    column: Column | None
    message: str  # message id
    params: dict[str, object] = field(default_factory=dict)

    def render(self) -> str:
        params = {k: ", ".join(_(x) for x in v) if isinstance(v, tuple) else v for k, v in self.params.items()}
        return t(self.message, **params) if params else _(self.message)


@dataclass
class Row:
    number: int  # as the spreadsheet shows it
    answers: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    duplicate_of: str | None = None  # an existing case's code
    duplicate_row: int | None = None  # an earlier row of this file


@dataclass
class Report:
    file_name: str
    sheet: str | None = None
    header_row: int | None = None
    columns: list[Column] = field(default_factory=list)
    errors: list[tuple[str, dict[str, object]]] = field(default_factory=list)  # the whole file
    rows: list[Row] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)  # case codes

    @property
    def rejected(self) -> list[Row]:
        return [r for r in self.rows if r.problems]

    @property
    def duplicates(self) -> list[Row]:
        return [r for r in self.rows if not r.problems and (r.duplicate_of or r.duplicate_row)]

    @property
    def accepted(self) -> list[Row]:
        return [r for r in self.rows if not r.problems and not r.duplicate_of and not r.duplicate_row]


def source_of(file_name: str) -> str:
    return (SOURCE_PREFIX + file_name)[:SOURCE_MAX]


# ---- judging cells --------------------------------------------------------------------------


class Judge:
    """Parses cells with the report form's fields; remembers answers for repeated cell values."""

    def __init__(self, today: date) -> None:
        self.ctx = FieldContext(today=today)
        self._cache: dict[tuple[str, str, Any], Any] = {}
        self._codes: dict[tuple[str, bool], tuple[list[str], str | None] | ParseError] = {}

    def step(self, step_id: str, text: str, answers: dict[str, Any] | None = None) -> Any:
        """What the form's step would store for this typed text (ParseError/Pending if nothing)."""
        key = (step_id, text, (answers or {}).get("province"))
        if key in self._cache:
            found = self._cache[key]
            if isinstance(found, Exception):
                raise found
            return copy.deepcopy(found)  # rows must not share a birth document
        try:
            value = REPORT_FORM.step(step_id).field.parse(Input(text=text), dict(answers or {}), {}, self.ctx)
        except (ParseError, Pending) as exc:
            self._cache[key] = exc
            raise
        self._cache[key] = value
        return copy.deepcopy(value)

    def choice(self, step_id: str, text: str, words: dict[str, str]) -> str:
        folded = fold(text).strip(" .")
        if folded in words:
            return words[folded]
        try:
            return self.step(step_id, text)
        except ParseError:
            options = tuple(o.label for o in REPORT_FORM.step(step_id).field.options({}, {}))
            raise ParseError(MSG_UNKNOWN_OPTION, text=text[:40], options=options) from None

    def codes(self, text: str, options: tuple[Option, ...], words: dict[str, str], groups: bool) -> tuple[list[str], str | None]:
        """Several options in one cell ("Mồ côi; khuyết tật", "a, đ"), in the order written,
        and for groups the free text after "Khác:" (the rest of the cell). Lists repeat the same
        few cells thousands of times: each distinct cell is judged once."""
        key = (text, groups)
        if key not in self._codes:
            try:
                self._codes[key] = self._judge_codes(text, options, words, groups)
            except ParseError as exc:
                self._codes[key] = exc
        found = self._codes[key]
        if isinstance(found, ParseError):
            raise found
        return list(found[0]), found[1]

    def _judge_codes(self, text: str, options: tuple[Option, ...], words: dict[str, str], groups: bool) -> tuple[list[str], str | None]:
        chosen: list[str] = []
        other_text = None
        if groups and (m := OTHER_PREFIX.search(text)):
            chosen.append("other")
            text, other_text = text[: m.start()], text[m.end():].strip() or None
        for part in re.split(r"[,;\n+]+", text):
            raw = part.strip(" .-\t")
            if not raw:
                continue
            if groups:
                letter = re.sub(r"^(?:\u0111i\u1ec3m|diem)\s+", "", raw.lower()).strip(" ()")
                if letter in GROUP_LETTERS:
                    chosen.append(GROUP_LETTERS[letter])
                    continue
            if is_number(fold(raw)):
                raise ParseError(MSG_GROUP_NUMBER if groups else MSG_NEED_NUMBER)
            words_in = raw.split()
            if fold(raw).startswith("tre em ") and len(words_in) > 2:
                raw = " ".join(words_in[2:])
            elif fold(raw).startswith("tre ") and len(words_in) > 1:
                raw = " ".join(words_in[1:])
            try:
                chosen.append(match_option(raw, options, self.ctx).code)
            except ParseError:
                folded = fold(raw)
                hit = next((code for word, code in words.items() if folded == word or folded.startswith(word + " ")), None)
                if hit is None:
                    raise ParseError(MSG_UNKNOWN_GROUP if groups else MSG_UNKNOWN_NEED, text=raw[:40]) from None
                chosen.append(hit)
        return list(dict.fromkeys(chosen)), other_text


def in_form_order(codes: list[str], options: tuple[Option, ...]) -> list[str]:
    order = [o.code for o in options]
    return sorted(set(codes), key=order.index)


def _cell(values: list[Any], column: Column | None) -> str | None:
    if column is None or column.index >= len(values):
        return None
    value = values[column.index]
    if column.field in ("birth", "birth_male", "birth_female") and isinstance(value, int | float) and 20_000 <= value <= 80_000:
        from openpyxl.utils.datetime import from_excel

        value = from_excel(value)  # a date typed into a cell not formatted as a date
    return sheets.cell_text(value)


class RowChecker:
    """Turns one data row into the report form's answers, or the reasons it cannot."""

    def __init__(self, table: Table, judge: Judge, default_province: int | None) -> None:
        self.columns = table.fields()
        self.judge, self.default_province = judge, default_province

    def check(self, number: int, values: list[Any]) -> Row:
        row = Row(number)
        cols = self.columns
        answers = row.answers

        def cell(name: str) -> str | None:
            return _cell(values, cols.get(name))

        def problem(name: str | None, message: str, **params: object) -> None:
            row.problems.append(Problem(cols.get(name) if name else None, message, params))

        def parse(name: str, step_id: str, text: str) -> Any:
            try:
                return self.judge.step(step_id, text, answers)
            except ParseError as exc:
                problem(name, exc.message, **exc.params)
            return None

        name = cell("child_name")
        if name is None:
            problem("child_name", MISSING["child_name"])
        else:
            answers["child_name"] = parse("child_name", "child_name", name)

        self._sex(cell, problem, answers)
        self._birth(values, problem, answers)
        province_ok = self._province(cell("province"), problem, answers)
        if province_ok:
            self._commune(cell("commune"), cell("commune_code"), problem, answers)

        for key in ("hamlet", "whereabouts", "description", "caregiver"):
            text = cell(key)
            if text is not None:
                answers[key] = parse(key, key, text)

        groups = cell("groups")
        if groups is None:
            problem("groups", MISSING["groups"])
        else:
            try:
                codes, other = self.judge.codes(groups, ARTICLE_10_GROUPS, {}, groups=True)
                if codes:
                    answers["groups"] = in_form_order(codes, ARTICLE_10_GROUPS)
                else:
                    problem("groups", MISSING["groups"])
                if other:
                    answers["other_situation"] = parse("groups", "other_situation", other)
            except ParseError as exc:
                problem("groups", exc.message, **exc.params)

        relation = cell("relation")
        if relation is not None:
            answers["relation"] = parse("relation", "relation", relation)
        self._household(cell, problem, answers)
        phone = cell("caregiver_phone")
        if phone is not None:
            answers["caregiver_phone"] = parse("caregiver_phone", "caregiver_phone", phone)
        consent = cell("donor_consent")
        if consent is not None:
            try:
                answers["donor_consent"] = self.judge.choice("donor_consent", consent, {"co": "yes", "x": "yes", "khong": "no"})
            except ParseError as exc:
                problem("donor_consent", exc.message, **exc.params)
        self._needs(cell, problem, parse, answers)
        return row

    def _sex(self, cell, problem, answers: dict[str, Any]) -> None:
        text = cell("sex")
        if text is not None:
            try:
                answers["sex"] = self.judge.choice("sex", text, SEX_WORDS)
            except ParseError as exc:
                problem("sex", exc.message, **exc.params)
            return
        male = cell("sex_male") or cell("birth_male")
        female = cell("sex_female") or cell("birth_female")
        if bool(male) != bool(female):
            answers["sex"] = "male" if male else "female"

    def _birth(self, values: list[Any], problem, answers: dict[str, Any]) -> None:
        for name in BIRTH_COLUMNS:
            text = _cell(values, self.columns.get(name))
            if text is None:
                continue
            try:
                answers["birth"] = self.judge.step("birth", text)
            except ParseError as exc:
                problem(name, exc.message, **exc.params)
            return
        first = next((n for n in BIRTH_COLUMNS if n in self.columns), None)
        problem(first, MISSING["birth"])

    def _province(self, text: str | None, problem, answers: dict[str, Any]) -> bool:
        if text is None:
            if self.default_province is None:
                problem("province", MISSING["province"])
                return False
            answers["province"] = self.default_province
            return True
        try:
            answers["province"] = int(self.judge.step("province", text))
            return True
        except (ParseError, Pending) as exc:
            message, params = _ambiguous(exc, text, places.search_provinces(text))
            problem("province", message, **params)
            return False

    def _commune(self, text: str | None, code: str | None, problem, answers: dict[str, Any]) -> None:
        province = answers["province"]
        if code is not None and is_number(code):
            wards = {w.code for w in places.wards_of(province)}
            if int(code) in wards:
                answers["commune"] = int(code)
                return
            if text is None:
                problem("commune_code", REPORT_FORM.step("commune").field.not_found(), text=code)  # type: ignore[attr-defined]
                return
        if text is None:
            problem("commune", MISSING["commune"])
            return
        if is_number(text) and int(text) in {w.code for w in places.wards_of(province)}:
            answers["commune"] = int(text)
            return
        try:
            answers["commune"] = int(self.judge.step("commune", text, answers))
        except (ParseError, Pending) as exc:
            message, params = _ambiguous(exc, text, places.search_wards(province, text))
            problem("commune", message, **params)

    def _household(self, cell, problem, answers: dict[str, Any]) -> None:
        for name, ticked in (("household_poor", "poor"), ("household_near_poor", "near_poor"), ("household", None)):
            text = cell(name)
            if text is None:
                continue
            if ticked is not None and fold(text) in TICKS:
                answers["household"] = ticked
                return
            try:
                answers["household"] = self.judge.choice("household", text, HOUSEHOLD_WORDS)
            except ParseError as exc:
                problem(name, exc.message, **exc.params)
            return

    def _needs(self, cell, problem, parse, answers: dict[str, Any]) -> None:
        text = cell("needs")
        written: list[str] = []
        if text is not None:
            try:
                written, _other = self.judge.codes(text, NEEDS, NEED_WORDS, groups=False)
            except ParseError as exc:
                problem("needs", exc.message, **exc.params)
                return
        amount_text = cell("amount")
        if amount_text is not None:
            # one amount for the row: it goes to the first need written that has a cost
            target = next((n for n in written if n in COSTED_NEEDS), "other")
            if target not in written:
                written.append(target)
            amount = parse("amount", f"amount_{target}", amount_text)
            if amount is not None:
                answers[f"amount_{target}"] = amount
        if written:
            answers["needs"] = in_form_order(written, NEEDS)


def _ambiguous(exc: ParseError | Pending, text: str, found: list[places.Place]) -> tuple[str, dict[str, object]]:
    if isinstance(exc, ParseError):
        return exc.message, exc.params
    names = ", ".join(p.name for p in found[:3]) + ("…" if len(found) > 3 else "")
    return MSG_AMBIGUOUS_PLACE, {"n": len(found), "text": text[:40], "names": names}


# ---- the whole file -------------------------------------------------------------------------


def _missing_columns(table: Table, default_province: int | None) -> list[str]:
    have = set(table.fields())
    missing = []
    for name, label in REQUIRED_COLUMNS.items():
        if name == "birth" and have & set(BIRTH_COLUMNS):
            continue
        if name == "commune" and have & {"commune", "commune_code"}:
            continue
        if name == "province" and default_province is not None:
            continue
        if name not in have:
            missing.append(label)
    return missing


def _name_key(name: Any) -> str | None:
    return fold(name) if isinstance(name, str) and name.strip() else None


def _close_years(a: int | None, b: int | None, estimated: bool) -> bool:
    if a is None or b is None:
        return True
    return abs(a - b) <= (1 if estimated else 0)


async def _mark_duplicates(session: AsyncSession, rows: list[Row]) -> None:
    valid = [r for r in rows if not r.problems and _name_key(r.answers.get("child_name"))]
    communes = {r.answers["commune"] for r in valid}
    existing: dict[tuple[str, int], list[tuple[str, int | None, bool]]] = {}
    if communes:
        statement = select(Case.code, Case.commune_code, Case.birth_year, Case.age_estimated, Case.personal).where(
            col(Case.commune_code).in_(sorted(communes)), col(Case.personal).is_not(None))
        for code, commune, year, estimated, personal in await session.exec(statement):  # type: ignore[call-overload]
            key = _name_key((personal or {}).get("child_name"))
            if key:
                existing.setdefault((key, commune), []).append((code, year, estimated))
    seen: dict[tuple[str, int], list[tuple[int, int | None, bool]]] = {}
    for row in valid:
        key = (_name_key(row.answers["child_name"]) or "", row.answers["commune"])
        birth = row.answers["birth"]
        year, estimated = birth.get("birth_year"), bool(birth.get("estimated"))
        for code, other_year, other_estimated in existing.get(key, []):
            if _close_years(year, other_year, estimated or other_estimated):
                row.duplicate_of = code
                break
        if row.duplicate_of is None:
            for number, other_year, other_estimated in seen.get(key, []):
                if _close_years(year, other_year, estimated or other_estimated):
                    row.duplicate_row = number
                    break
        seen.setdefault(key, []).append((row.number, year, estimated))


async def check(session: AsyncSession, file_name: str, content: bytes, *, today: date,
                default_province: int | None = None, sheet: str | None = None) -> Report:
    """Read and judge every row; nothing is written (a dry run)."""
    report = Report(file_name)
    try:
        table = sheets.read(file_name, content, sheet)
    except SheetError as exc:
        report.errors.append((SHEET_ERRORS.get(exc.reason, exc.reason), exc.params))
        return report
    report.sheet, report.header_row, report.columns = table.sheet, table.header_row, table.columns
    missing = _missing_columns(table, default_province)
    if missing:
        report.errors.append((N_("Thiếu cột: {columns}. Hãy thêm cột (tên cột có dấu hay không dấu đều được) rồi gửi lại."), {"columns": ", ".join(_(m) for m in missing)}))
        return report
    checker = RowChecker(table, Judge(today), default_province)
    report.rows = [checker.check(number, values) for number, values in table.rows]
    await _mark_duplicates(session, report.rows)
    return report


async def apply(session: AsyncSession, report: Report, *, reporter_id: int | None, now: datetime,
                include_duplicates: bool = False) -> list[str]:
    """Create a case for every accepted row, in the caller's transaction (all or nothing)."""
    rows = report.accepted + (report.duplicates if include_duplicates else [])
    rows.sort(key=lambda r: r.number)
    source = source_of(report.file_name)
    for row in rows:
        data = replace(case_data(dict(row.answers), complete=True), source=source)
        case = await cases.create(session, data, prefix=places.case_prefix(data.province_code), reporter_id=reporter_id, now=now)
        audit.record(session, "import", actor_id=reporter_id, case_id=case.id, detail=f"{report.file_name}#{row.number}", now=now)
        report.imported.append(case.code)
    return report.imported


# ---- the report, in words -------------------------------------------------------------------


def _where(problem: Problem) -> str:
    if problem.column is None:
        return ""
    header = problem.column.header or problem.column.letter
    return t(N_("cột {column} ({header})"), column=problem.column.letter, header=header) + ": "


def row_lines(row: Row) -> list[str]:
    """`• dòng 7, cột D (Ngày sinh): …`; a row with several problems gets one line for each."""
    head = "• " + t(N_("dòng {row}"), row=row.number)
    if len(row.problems) == 1:
        return [head + ", " + _where(row.problems[0]) + row.problems[0].render()]
    return [head + ":"] + ["   – " + _where(p) + p.render() for p in row.problems]


def duplicate_line(row: Row) -> str:
    if row.duplicate_of:
        return "• " + t(N_("dòng {row}: giống hồ sơ {code} đã có (cùng họ tên, năm sinh, xã)"), row=row.number, code=row.duplicate_of)
    return "• " + t(N_("dòng {row}: giống dòng {other} trong tệp (cùng họ tên, năm sinh, xã)"), row=row.number, other=row.duplicate_row)


def render(report: Report, limit: int | None = None) -> tuple[str, bool]:
    """The report in the reader's language; with `limit`, at most that many row lines.
    Returns the text and whether lines were left out."""
    lines: list[str] = []
    where = t(N_("Tệp {file}"), file=report.file_name)
    if report.sheet:
        where += ", " + t(N_("trang «{sheet}»"), sheet=report.sheet)
    lines.append(where)
    for message, params in report.errors:
        lines.append("❌ " + (t(message, **params) if params else _(message)))
    if report.errors:
        return "\n".join(lines), False
    lines.append(t(N_("Dòng tiêu đề: {row}. Số dòng dữ liệu: {n}."), row=report.header_row, n=len(report.rows)))
    used = [f"{c.letter} «{c.header}»" for c in report.columns if c.field and c.field != "row_number" and not c.duplicate]
    unused = [f"{c.letter} «{c.header}»" for c in report.columns if c.header and (c.field is None or c.duplicate)]
    lines.append(t(N_("Cột đã nhận: {columns}"), columns=", ".join(used)))
    if unused:
        lines.append(t(N_("Cột không dùng: {columns}"), columns=", ".join(unused)))
    lines.append("")
    lines.append(t(N_("✅ Hợp lệ: {n} dòng"), n=len(report.accepted)))
    budget = limit if limit is not None else 10**9
    cut = False
    rejected = report.rejected
    lines.append(t(N_("❌ Bị từ chối: {n} dòng"), n=len(rejected)))
    for row in rejected:
        if budget <= 0:
            cut = True
            break
        lines.extend(row_lines(row))
        budget -= 1
    duplicates = report.duplicates
    if duplicates:
        lines.append(t(N_("⚠️ Có thể trùng: {n} dòng (không nhập)"), n=len(duplicates)))
        for row in duplicates:
            if budget <= 0:
                cut = True
                break
            lines.append(duplicate_line(row))
            budget -= 1
    if cut:
        lines.append(_("… (còn nữa: xem tệp báo cáo đầy đủ)"))
    if report.imported:
        lines.append("")
        first, last = report.imported[0], report.imported[-1]
        span = first if first == last else f"{first} … {last}"
        lines.append(t(N_("Đã nhập {n} hồ sơ: {codes}."), n=len(report.imported), codes=span))
    return "\n".join(lines), cut
