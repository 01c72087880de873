"""Words typed after a command match however they are typed: with or without marks, in capitals,
decomposed (NFD, as some keyboards send it), and run together («chuahoi» as well as «chưa hỏi»).
A phone keyboard that drops the space, or a hurried collaborator, must not get "not understood"."""

from __future__ import annotations

import unicodedata

import pytest

from bot.app import App
from tests.support import Chat
from tests.test_donor_helpers import donor, publish
from tests.test_staff_helpers import STAFF, case_by_code, make_case

NFD = unicodedata.normalize("NFD", "chưa hỏi")


@pytest.mark.parametrize("typed, expected", [
    ("chuahoi", "not_asked"), ("chưa hỏi", "not_asked"), ("CHƯA HỎI", "not_asked"), (NFD, "not_asked"),
    ("chua hoi", "not_asked"), ("chưahỏi", "not_asked"), ("not asked", "not_asked"),
    ("đồng ý", "yes"), ("dongy", "yes"), ("ĐÃ ĐỒNG Ý", "yes"), ("co", "yes"),
    ("không đồng ý", "no"), ("khongdongy", "no"), ("từ chối", "no"), ("tuchoi", "no"),
])
async def test_consent_words_however_typed(app: App, typed: str, expected: str) -> None:
    case = await make_case(app, donor_consent="no" if expected != "no" else "yes")
    staff = Chat(app, STAFF)
    await staff.send(f"/dongy {case.code} {typed}")
    assert "Đã ghi nhận sự đồng ý" in staff.text, staff.text
    assert (await case_by_code(app, case.code)).donor_consent == expected


async def test_the_words_the_usage_line_suggests_all_work(app: App) -> None:
    staff = Chat(app, STAFF)
    await staff.send("/dongy")
    assert "co, khong hoặc chuahoi" in staff.text
    for word, expected in (("chuahoi", "not_asked"), ("khong", "no"), ("co", "yes")):
        case = await make_case(app)
        await staff.send(f"/dongy {case.code} {word}")
        assert (await case_by_code(app, case.code)).donor_consent == expected, word


async def test_an_unknown_consent_word_asks_with_the_choices(app: App) -> None:
    case = await make_case(app, donor_consent="yes")
    staff = Chat(app, STAFF)
    await staff.send(f"/dongy {case.code} chuahoitoi")
    assert f"m:dongy:{case.code}:not_asked" in staff.button_data()
    assert (await case_by_code(app, case.code)).donor_consent == "yes"


@pytest.mark.parametrize("typed", ["trung bình", "trungbinh", "TRUNG BÌNH", unicodedata.normalize("NFD", "trung bình")])
async def test_risk_words_however_typed(app: App, typed: str) -> None:
    case = await make_case(app)
    staff = Chat(app, STAFF)
    await staff.send(f"/nguyco {case.code} {typed}")
    assert (await case_by_code(app, case.code)).risk == "medium", staff.text


@pytest.mark.parametrize("typed", ["ok", "không", "không đổi", "khongthaydoi", "KHÔNG THAY ĐỔI"])
async def test_recheck_no_change_however_typed(app: App, collaborator: Chat, typed: str) -> None:
    case = await make_case(app, reporter="501")
    await collaborator.send(f"/rasoat {case.code} {typed}")
    assert f"hồ sơ {case.code} không thay đổi" in collaborator.text


@pytest.mark.parametrize("typed", ["doi", "thay đổi", "thaydoi", "Có thay đổi"])
async def test_recheck_change_however_typed(app: App, collaborator: Chat, typed: str) -> None:
    case = await make_case(app, reporter="501")
    await collaborator.send(f"/rasoat {case.code} {typed}")
    assert "thay đổi thế nào" in collaborator.text
    await collaborator.send("/huy")
    await collaborator.send("có")
    assert f"/rasoat {case.code}" in collaborator.text  # how to do it later, by typing


@pytest.mark.parametrize("typed", ["hoan canh", "hoancanh", "Hoàn Cảnh", "dieu10"])
async def test_summary_keywords_however_typed(app: App, typed: str) -> None:
    await make_case(app)
    staff = Chat(app, STAFF)
    await staff.send(f"/thongke {typed}")
    assert "Mồ côi cả cha và mẹ" in staff.text and "Không hiểu" not in staff.text, staff.text


async def test_summary_commune_keyword_run_together(app: App) -> None:
    await make_case(app)
    staff = Chat(app, STAFF)
    await staff.send("/thongke xaphuong lao cai")
    assert "Xã Bản Hồ (Lào Cai)" in staff.text, staff.text


@pytest.mark.parametrize("typed", ["hoc tap", "hoctap", "HỌC TẬP"])
async def test_need_filter_however_typed(app: App, typed: str) -> None:
    await publish(app, needs={"education": 2_000_000})
    await publish(app, needs={"nutrition": 800_000})
    chat = await donor(app, "7301")
    await chat.send(f"/nhucau {typed}")
    assert "Bộ lọc: Học tập, học bổng" in chat.text and chat.text.count("🧒 TE-") == 1, chat.text
