"""Whole conversations: a collaborator reports a child, as a person would, through the core."""

from __future__ import annotations

import asyncio
import unicodedata
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import App
from bot.settings import Settings
from storage import cases
from storage.models import Case, CaseEvent, Conversation, Need, Person
from tests.support import Chat, Clock, outbox_messages

# A full report typed as text only, the way a collaborator on a cheap phone would answer.
FULL_REPORT = [
    "Nguyễn Văn An",  # child_name
    "nam",  # sex, typed label without diacritics
    "khoảng 7 tuổi",  # birth
    "lao cai",  # province
    "ban ho",  # commune
    "Thôn Bản Dền",  # hamlet
    "ở nhà bà ngoại",  # whereabouts
    "1, 4",  # groups: orphan, disability
    "Bố mẹ mất năm ngoái, bà ngoại già yếu",  # description
    "không",  # danger
    "Lò Thị Mai",  # caregiver
    "ong ba",  # relation: grandparent, by label
    "1",  # household: poor
    "0912 345 678",  # caregiver phone
    "1, 3",  # needs: health, education
    "500k",  # amount for health
    "1,5 triệu",  # amount for education
    "không",  # photo consent
    "đã đồng ý",  # donor consent
]


async def all_cases(app: App) -> list[Case]:
    async with app.db.transaction() as session:
        rows = list(await session.exec(select(Case)))
        for row in rows:
            session.expunge(row)
        return rows


async def needs_of(app: App, case_id: int) -> dict[str, int | None]:
    async with app.db.transaction() as session:
        return {n.kind: n.amount for n in await session.exec(select(Need).where(Need.case_id == case_id))}


async def test_full_report_typed_as_text(app: App, collaborator: Chat) -> None:
    assert "Chào mừng" in collaborator.text and "Bản Hồ" in collaborator.text
    await collaborator.send("/baocao")
    assert "Họ và tên của trẻ" in collaborator.text
    await collaborator.answers(*FULL_REPORT)
    summary = collaborator.text
    assert "Kiểm tra lại" in summary
    for shown in ("Nguyễn Văn An", "Nam", "khoảng 7 tuổi", "Lào Cai", "Xã Bản Hồ", "Mồ côi cả cha và mẹ; Khuyết tật",
                  "Ông bà", "Hộ nghèo", "0912 345 678", "500.000\xa0₫", "1.500.000\xa0₫", "Đã đồng ý"):
        assert shown in summary, shown

    await collaborator.send("gửi")
    receipt = collaborator.text
    assert "Mã hồ sơ: LCA-2026-000001" in receipt
    assert "Mức ưu tiên:" in receipt and "/100" in receipt
    assert "5 ngày làm việc" in receipt

    [case] = await all_cases(app)
    assert (case.code, case.status, case.sex, case.age_years, case.age_estimated) == ("LCA-2026-000001", "new", "male", 7, True)
    assert case.groups == ["a", "d"] and case.household == "poor" and case.donor_consent == "yes"
    assert case.danger is False and case.respond_by is None and case.complete
    assert case.personal is not None
    assert case.personal["child_name"] == "Nguyễn Văn An"
    assert case.personal["caregiver_phone"] == "+84912345678"
    assert case.personal["hamlet"] == "Thôn Bản Dền"
    assert await needs_of(app, case.id) == {"health": 500_000, "education": 1_500_000}
    # priority: orphan 20 + one more group 5 + age 6-10 5 + poor 10 + health care 5
    assert case.priority == 45

    await collaborator.send("/cuatoi")
    assert "LCA-2026-000001" in collaborator.text and "Chờ xem xét" in collaborator.text
    assert "Nguyễn Văn An" not in collaborator.text  # lists never carry a child's name


async def test_full_report_with_button_taps(app: App, collaborator: Chat) -> None:
    await collaborator.press("m:baocao")
    await collaborator.send("chưa rõ")
    assert "c:female" in collaborator.button_data()
    await collaborator.press("c:female")
    await collaborator.send("12/3/2016")
    await collaborator.send("ha")  # many provinces match: offered as buttons
    assert "Có " in collaborator.text and any(d.startswith("p:") for d in collaborator.button_data())
    hanoi = next(d for d, b in zip(collaborator.button_data(), [b for r in collaborator.replies for b in r.flat_buttons()], strict=True) if "Hà Nội" in b.label)
    await collaborator.press(hanoi)
    await collaborator.send("hoan kiem")
    await collaborator.answers("Tổ 5", "ở chợ một mình")
    await collaborator.press("t:b")
    await collaborator.press("t:k")
    await collaborator.press("t:b")  # untick
    assert "✅ " + "Bị bóc lột" in collaborator.text
    await collaborator.press("c:done")
    await collaborator.send("Em bán hàng rong, bị ép làm việc")
    await collaborator.press("c:no")
    await collaborator.send("chưa rõ")
    await collaborator.press("c:none")
    await collaborator.press("c:unknown")
    await collaborator.contact("+84 987 654 321")
    await collaborator.press("t:nutrition")
    await collaborator.press("c:done")
    await collaborator.press("f:skip")
    await collaborator.press("c:no")
    await collaborator.press("c:not_asked")
    assert "Kiểm tra lại" in collaborator.text
    await collaborator.press("f:submit")
    assert "Mã hồ sơ: HN-2026-000001" in collaborator.text
    [case] = await all_cases(app)
    assert case.groups == ["k"] and case.sex == "female" and case.birth_year == 2016
    assert case.personal is not None and "child_name" not in case.personal  # "chưa rõ"
    assert case.personal["caregiver_phone"] == "+84987654321"
    assert case.personal["birth"]["dob"] == "2016-03-12"
    assert await needs_of(app, case.id) == {"nutrition": None}


async def test_every_optional_step_skipped(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:13])
    assert "bỏ qua" in collaborator.text  # the phone is optional
    await collaborator.send("bỏ qua")
    await collaborator.send("1, 2, 3")
    for _ in range(3):
        assert "Ước tính số tiền" in collaborator.text
        await collaborator.send("bo qua")
    await collaborator.send("khong")  # no photo: the photo step is never asked
    assert "gửi một ảnh" not in collaborator.text
    await collaborator.send("3")  # consent not asked yet
    summary = collaborator.text
    assert summary.count("(bỏ qua)") == 4
    await collaborator.send("gui")
    [case] = await all_cases(app)
    assert case.donor_consent == "not_asked"
    assert "caregiver_phone" not in (case.personal or {})
    assert await needs_of(app, case.id) == {"health": None, "nutrition": None, "education": None}


async def test_required_step_cannot_be_skipped(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.send("bỏ qua")
    assert "cần trả lời" in collaborator.text and "Họ và tên của trẻ" in collaborator.text


async def test_photo_only_after_consent(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:17])
    await collaborator.send("có")
    assert "gửi một ảnh" in collaborator.text
    await collaborator.send("đây là ảnh")  # text instead of a photo
    assert "Hãy gửi một ảnh" in collaborator.text
    await collaborator.photo("AgACAgIAAxkBAAIBnmZ")
    await collaborator.send("1")
    assert "Ảnh: đã có ảnh" in collaborator.text
    await collaborator.send("gửi")
    [case] = await all_cases(app)
    assert case.photo_consent and case.personal is not None and case.personal["photo"] == "AgACAgIAAxkBAAIBnmZ"


async def test_back_keeps_answers_and_edit_from_summary(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers("Nguyễn Văn An", "nam", "7")
    assert "tỉnh/thành" in collaborator.text
    await collaborator.send("quay lại")
    assert "Ngày sinh" in collaborator.text and "Câu trả lời trước: khoảng 7 tuổi" in collaborator.text
    await collaborator.send("quay lại")
    assert "Giới tính" in collaborator.text and "Câu trả lời trước: Nam" in collaborator.text
    await collaborator.press("f:keep")
    assert "Ngày sinh" in collaborator.text
    await collaborator.send("giữ nguyên")
    assert "tỉnh/thành" in collaborator.text
    await collaborator.answers(*FULL_REPORT[3:])
    assert "Kiểm tra lại" in collaborator.text

    await collaborator.send("sửa 2")
    assert "Giới tính" in collaborator.text
    await collaborator.send("nữ")
    assert "Kiểm tra lại" in collaborator.text and "2. Giới tính: Nữ" in collaborator.text
    assert "1. Họ tên trẻ: Nguyễn Văn An" in collaborator.text

    # Editing the circumstances to add "other" makes a new question apply: it is asked next.
    await collaborator.press("f:edit")
    assert "Chọn mục cần sửa" in collaborator.text
    await collaborator.send("8")
    await collaborator.send("1, 16")
    assert "Bạn chọn «Khác»" in collaborator.text
    await collaborator.send("Cha mẹ đi làm xa, không liên lạc được")
    assert "Kiểm tra lại" in collaborator.text and "Hoàn cảnh khác: Cha mẹ đi làm xa" in collaborator.text
    await collaborator.send("sửa 99")
    assert "Không có mục số 99" in collaborator.text
    await collaborator.send("gửi")
    [case] = await all_cases(app)
    assert case.sex == "female" and case.groups == ["a", "other"]
    assert case.personal is not None and case.personal["other_situation"].startswith("Cha mẹ")


async def test_emergency_alerts_every_staff_member_at_once(app: App, collaborator: Chat, clock: Clock) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:9])
    before = await outbox_messages(app)
    await collaborator.send("có")  # in danger now
    reply = collaborator.text
    assert "111" in reply and "113" in reply
    assert "Mã hồ sơ: LCA-2026-000001" in reply
    assert "Ai đang chăm sóc trẻ" in reply  # and the form goes on

    alerts = [m for m in await outbox_messages(app) if m not in before]
    assert sorted(m.chat_id for m in alerts) == ["9001", "9002"]  # STAFF_IDS
    for alert in alerts:
        assert "KHẨN CẤP" in alert.payload["text"] and "LCA-2026-000001" in alert.payload["text"]
        assert "Nguyễn Văn An" not in alert.payload["text"]
    [case] = await all_cases(app)
    assert case.danger and not case.complete
    assert case.respond_by == clock.now + timedelta(hours=12)

    # Going back and answering "yes" again neither opens a second case nor alerts twice.
    await collaborator.send("quay lại")
    await collaborator.send("có")
    assert len(await outbox_messages(app)) == len(before) + 2
    await collaborator.answers(*FULL_REPORT[10:])
    await collaborator.send("gửi")
    assert "Mã hồ sơ: LCA-2026-000001" in collaborator.text
    assert "can thiệp trước" in collaborator.text
    [case] = await all_cases(app)
    assert case.complete and case.danger and case.priority >= 70
    async with app.db.transaction() as session:
        kinds = [e.kind for e in await session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert kinds == ["emergency", "completed"]


async def test_cancel_asks_first_and_keeps_going_on_no(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers("Nguyễn Văn An", "nam")
    await collaborator.send("/huy")
    assert "Bạn có chắc muốn hủy" in collaborator.text
    await collaborator.send("không")
    assert "Ngày sinh" in collaborator.text
    await collaborator.send("/huy")
    await collaborator.send("có")
    assert "Đã hủy báo cáo" in collaborator.text
    assert await all_cases(app) == []
    async with app.db.transaction() as session:
        row = (await session.exec(select(Conversation).where(Conversation.chat_id == "501"))).one()
    assert row.form is None and row.state is None
    await collaborator.send("/huy")
    assert "Không có gì đang làm dở" in collaborator.text


async def test_cancel_after_emergency_keeps_the_case(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:9], "có")
    await collaborator.press("f:cancel")
    await collaborator.press("c:yes")
    assert "vẫn được giữ" in collaborator.text and "LCA-2026-000001" in collaborator.text
    [case] = await all_cases(app)
    assert case.danger and not case.complete and case.personal is not None
    assert case.personal["child_name"] == "Nguyễn Văn An"


async def test_resume_after_restart_keeps_every_answer(settings: Settings, clock: Clock) -> None:
    first = await App.open(settings, clock=clock)
    chat = await Chat.collaborator(first, user="777")
    await chat.send("/baocao")
    await chat.answers(*FULL_REPORT[:6])
    assert "Hiện giờ trẻ đang ở đâu" in chat.text
    await first.close()  # the process dies here

    second = await App.open(settings, clock=clock)
    try:
        chat.app = second
        await chat.send("/baocao")
        assert "báo cáo làm dở" in chat.text and "Hiện giờ trẻ đang ở đâu" in chat.text
        await chat.answers(*FULL_REPORT[6:])
        summary = chat.text
        for shown in ("Nguyễn Văn An", "khoảng 7 tuổi", "Xã Bản Hồ", "Thôn Bản Dền"):
            assert shown in summary
        await chat.send("gửi")
        assert "LCA-2026-000001" in chat.text
    finally:
        await second.close()


async def test_an_answer_after_restart_is_taken_as_the_answer(settings: Settings, clock: Clock) -> None:
    first = await App.open(settings, clock=clock)
    chat = await Chat.collaborator(first, user="778")
    await chat.send("/baocao")
    await chat.answers("Nguyễn Văn An")
    await first.close()
    second = await App.open(settings, clock=clock)
    try:
        chat.app = second
        await chat.send("2")
        assert "Ngày sinh" in chat.text
    finally:
        await second.close()


async def test_redelivered_update_is_answered_once(app: App, collaborator: Chat) -> None:
    from bot.core import Event

    event = Event.from_text("telegram", "501", "501", "/baocao", update="u-42")
    first = await app.handle(event)
    again = await app.handle(event)
    assert first and again == []


async def test_typed_menu_number_opens_the_report(app: App, collaborator: Chat) -> None:
    await collaborator.send("/start")
    assert "1. 📝 Báo cáo trẻ cần bảo vệ" in collaborator.text
    await collaborator.send("1")
    assert "Họ và tên của trẻ" in collaborator.text


@pytest.mark.parametrize("form", ["NFC", "NFD"])
async def test_decomposed_unicode_and_no_diacritics(app: App, collaborator: Chat, form: str) -> None:
    await collaborator.send("/baocao")
    answers = [unicodedata.normalize(form, a) for a in FULL_REPORT[:8]]
    answers[3], answers[4], answers[7] = unicodedata.normalize(form, "Lào Cai"), unicodedata.normalize(form, "Bản Hồ"), "mo coi, khuyet tat"
    await collaborator.answers(*answers)
    assert "Mô tả tình trạng" in collaborator.text


async def test_only_collaborators_and_staff_report(app: App) -> None:
    stranger = Chat(app, user="12345")
    await stranger.send("/baocao")
    assert "Chỉ cộng tác viên" in stranger.text and "111" in stranger.text
    staff = Chat(app, user="9001")  # from STAFF_IDS
    await staff.send("/baocao")
    assert "Họ và tên của trẻ" in staff.text


async def test_invite_is_one_time_and_expires(app: App, clock: Clock) -> None:
    from storage import people

    async with app.db.transaction() as session:
        invite = await people.create_invite(session, 15, await _ban_ho_code(), now=clock.now)
    first = Chat(app, user="601")
    await first.send(f"/start {invite.code.lower()}")
    assert "Chào mừng" in first.text
    second = Chat(app, user="602")
    await second.send(f"/start {invite.code}")
    assert "đã được dùng" in second.text
    async with app.db.transaction() as session:
        old = await people.create_invite(session, 15, await _ban_ho_code(), now=clock.now - timedelta(days=8))
    await second.send(f"/start {old.code}")
    assert "hết hạn" in second.text
    async with app.db.transaction() as session:
        roles = {p.external_id: p.role for p in await session.exec(select(Person))}
    assert roles["601"] == "collaborator" and roles["602"] == "guest"


async def test_an_invite_sent_by_ten_people_at_once_makes_one_collaborator(app: App, clock: Clock) -> None:
    from storage import people

    async with app.db.transaction() as session:
        invite = await people.create_invite(session, 15, await _ban_ho_code(), now=clock.now)
    chats = [Chat(app, user=str(620 + i)) for i in range(10)]
    await asyncio.gather(*(c.send(f"/start {invite.code}") for c in chats))
    assert sum("Chào mừng" in c.text for c in chats) == 1
    assert sum("đã được dùng" in c.text for c in chats) == 9
    async with app.db.transaction() as session:
        roles = [p.role for p in await session.exec(select(Person)) if p.external_id.startswith("62")]
    assert sorted(roles) == ["collaborator"] + ["guest"] * 9


async def _ban_ho_code() -> int:
    from conversations.parsing import places

    return places.search_wards(15, "Bản Hồ")[0].code


async def test_case_numbers_count_per_province_and_year(app: App, collaborator: Chat) -> None:
    for _ in range(2):
        await collaborator.send("/baocao")
        await collaborator.answers(*FULL_REPORT, "gửi")
    async with app.db.transaction() as session:
        codes = sorted(c.code for c in await session.exec(select(Case)))
        assert await cases.by_code(session, "lca-2026-000002") is not None
    assert codes == ["LCA-2026-000001", "LCA-2026-000002"]


async def test_report_typed_again_with_words_keeps_the_open_report(app: App, collaborator: Chat) -> None:
    """«/baocao gấp» half way through a report must not start a fresh, empty one."""
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:3])
    await collaborator.send("/baocao gấp")
    assert "đang điền «Báo cáo" in collaborator.text and "(4/17)" in collaborator.text
    await collaborator.answers(*FULL_REPORT[3:], "gửi")
    assert "Mã hồ sơ" in collaborator.text
    case = (await all_cases(app))[0]
    assert case.personal is not None and case.personal["child_name"] == FULL_REPORT[0]
