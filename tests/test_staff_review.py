"""The case process as staff live it in chat: the review queue, the case file, verifying, risk,
questions to the reporter, duplicates, rejecting, consent and publishing, the plan, support
delivered, priority, the emergency intervention, closing, the history and erasure."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.app import App
from storage import review
from storage.audit import AuditEntry
from storage.models import CaseEvent, Need
from storage.support import SupportDelivery
from tests.support import Chat, Clock, outbox_messages
from tests.test_staff_helpers import (
    STAFF,
    audit_actions,
    case_by_code,
    event_kinds,
    make_case,
    reported,
)


async def messages_to(app: App, chat_id: str) -> list[str]:
    return [m.payload["text"] for m in await outbox_messages(app) if m.chat_id == chat_id]


async def test_review_queue_puts_danger_and_priority_first_and_pages(app: App, collaborator: Chat, clock: Clock) -> None:
    low = await make_case(app, reporter="501", groups=("other",), household="neither", needs={})
    high = await make_case(app, reporter="501", groups=("l",), age_years=4)
    urgent = await make_case(app, reporter="501", groups=("other",), danger=True, needs={})
    for _ in range(4):
        await make_case(app, reporter="501", groups=("h",))
    done = await make_case(app, reporter="501")
    staff = Chat(app, STAFF)
    await staff.send(f"/xacminh {done.code}")
    await staff.send("/choduyet")
    text = staff.text
    assert "Hồ sơ chờ duyệt: 7 (trang 1/2)" in text
    lines = [line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert urgent.code in lines[0] and "🚨" in lines[0] and "còn 12 giờ" in lines[0]
    assert high.code in lines[1]
    assert done.code not in text and "Nguyễn Văn An" not in text  # lists carry no names
    await staff.press("m:choduyet:2")
    assert "trang 2/2" in staff.text and low.code in staff.text
    assert f"m:hoso:{low.code}" in staff.button_data()
    await staff.send("/choduyet 9")  # past the end: the last page
    assert "trang 2/2" in staff.text


async def test_empty_queue(app: App) -> None:
    staff = Chat(app, STAFF)
    await staff.send("/review")
    assert "Không có hồ sơ nào chờ duyệt" in staff.text


async def test_case_file_shows_personal_data_and_audits_the_read(app: App, collaborator: Chat) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.send(f"/hoso {code.lower()}")
    text = staff.text
    for shown in ("Hồ sơ LCA-2026-000001 · Chờ xem xét", "Họ tên trẻ: Nguyễn Văn An", "Thôn/bản/tổ: Thôn Bản Dền",
                  "Người chăm sóc: Lò Thị Mai", "0912 345 678", "Nơi: Xã Bản Hồ, Lào Cai", "Mồ côi cả cha và mẹ; Khuyết tật",
                  "Chăm sóc sức khỏe: 500.000\xa0₫", "Ưu tiên: 45/100 (trung bình)", "Mức nguy cơ: chưa đánh giá", "Đồng ý chia sẻ ẩn danh: Đã đồng ý"):
        assert shown in text, shown
    assert {"m:xacminh:" + code, "m:tuchoi:" + code, "m:hoi:" + code, "m:trung:" + code} <= set(staff.button_data())
    case = await case_by_code(app, code)
    assert await audit_actions(app, case.id) == ["read_personal"]
    for short in ("lca-2026-1", "LCA2026000001"):  # codes typed short on a phone
        await staff.send(f"/case {short}")
        assert "Hồ sơ LCA-2026-000001 · Chờ xem xét" in staff.text
    await staff.send("/hoso KHONG-CO")
    assert "Không tìm thấy hồ sơ «KHONG-CO»" in staff.text
    await staff.send("/hoso")
    assert "Gõ /hoso kèm mã hồ sơ" in staff.text


async def test_verify_starts_the_plan_clock_and_tells_the_reporter(app: App, collaborator: Chat) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.press(f"m:xacminh:{code}")
    # Tuesday 24 November 2026: five working days later is Tuesday 1 December, end of day
    assert f"Đã xác minh hồ sơ {code}" in staff.text and "23:59 01/12/2026" in staff.text
    case = await case_by_code(app, code)
    assert case.status == "verified"
    assert any(f"Hồ sơ {code} đã được cán bộ xác minh" in m for m in await messages_to(app, "501"))
    await staff.send(f"/xacminh {code}")
    assert "Không làm được việc này khi hồ sơ đang ở trạng thái «Đã xác minh»" in staff.text
    actions = await audit_actions(app, case.id)
    assert actions.count("status") == 1


async def test_risk_by_button_and_typed(app: App, collaborator: Chat) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.send(f"/nguyco {code}")
    assert "Chọn Cao, Trung bình hoặc Thấp" in staff.text and f"m:nguyco:{code}:high" in staff.button_data()
    await staff.press(f"m:nguyco:{code}:high")
    assert "Đã ghi mức nguy cơ của hồ sơ" in staff.text and "Cao" in staff.text
    await staff.send(f"/risk {code} trung bình")
    assert "Trung bình" in staff.text
    case = await case_by_code(app, code)
    assert case.risk == "medium"
    assert (await audit_actions(app, case.id)).count("risk") == 2


async def test_ask_the_reporter_and_the_answer_comes_back(app: App, collaborator: Chat) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.press(f"m:hoi:{code}")
    assert "Gõ câu hỏi cho người báo" in staff.text
    await staff.send("Bà ngoại của cháu bao nhiêu tuổi?")
    await staff.send("gửi")
    assert "Đã gửi câu hỏi tới người báo" in staff.text
    [question] = [m for m in await outbox_messages(app) if m.chat_id == "501" and "Cán bộ hỏi thêm" in m.payload["text"]]
    assert "Bà ngoại của cháu bao nhiêu tuổi?" in question.payload["text"]
    answer_button = question.payload["buttons"][0][0][1]
    assert answer_button.startswith("m:traloi:")

    await collaborator.press(answer_button)
    assert "Câu hỏi của cán bộ" in collaborator.text
    await collaborator.send("Bà 72 tuổi, hay ốm")
    await collaborator.send("gửi")
    assert "Đã gửi câu trả lời cho cán bộ" in collaborator.text
    relayed = (await messages_to(app, STAFF))[-1]
    assert "Người báo đã trả lời về hồ sơ" in relayed and "Bà 72 tuổi, hay ốm" in relayed
    await collaborator.press(answer_button)
    assert "đã trả lời câu hỏi này rồi" in collaborator.text
    case = await case_by_code(app, code)
    assert (await event_kinds(app, case.id))[-2:] == ["question", "answer"]

    stranger = await Chat.collaborator(app, user="502")
    await stranger.press(answer_button)
    assert "Không tìm thấy câu hỏi này" in stranger.text


async def test_likely_duplicates_are_proposed_and_marked(app: App, collaborator: Chat) -> None:
    first = await make_case(app, reporter="501", personal={"child_name": "Nguyễn Văn An"}, birth_year=2019)
    await make_case(app, reporter="501", personal={"child_name": "Trần Thị Bích"}, birth_year=2019)  # another child
    await make_case(app, reporter="501", personal={"child_name": "Nguyen Van An"}, birth_year=2012)  # too old
    second = await make_case(app, reporter="501", personal={"child_name": "nguyen  van an"}, birth_year=2018)
    staff = Chat(app, STAFF)
    await staff.send(f"/trung {second.code}")
    text = staff.text
    assert f"Có thể trùng với hồ sơ {second.code}" in text and first.code in text
    assert "Trần Thị Bích" not in text and text.count("• ") == 1
    await staff.press(f"m:trung:{second.code}:{first.code}")
    assert f"Đã đánh dấu hồ sơ {second.code} trùng với {first.code}" in staff.text
    assert (await case_by_code(app, second.code)).status == "duplicate"
    await staff.send(f"/trung {first.code} {first.code}")
    assert "không thể trùng với chính nó" in staff.text
    lonely = await make_case(app, reporter="501", personal={"child_name": "Hờ A Dính"})
    await staff.send(f"/trung {lonely.code}")
    assert "Không thấy hồ sơ nào giống" in staff.text


async def test_reject_asks_a_reason_and_tells_the_reporter(app: App, collaborator: Chat) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.send(f"/tuchoi {code}")
    assert "Vì sao không tiếp nhận" in staff.text
    await staff.send("ok")  # too short: asked again
    assert "Hãy gõ câu trả lời" in staff.text
    await staff.send("Trẻ đã 17 tuổi, chuyển sang chương trình khác")
    assert "Kiểm tra lại «Không tiếp nhận hồ sơ»" in staff.text
    await staff.send("gửi")
    assert "Đã ghi: không tiếp nhận hồ sơ" in staff.text
    told = (await messages_to(app, "501"))[-1]
    assert f"Hồ sơ {code} không được tiếp nhận" in told and "Trẻ đã 17 tuổi" in told
    case = await case_by_code(app, code)
    assert case.status == "rejected"
    async with app.db.transaction() as session:
        note = (await session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "rejected"))).one().note
    assert note == "Trẻ đã 17 tuổi, chuyển sang chương trình khác"


async def test_cancelling_a_staff_form_changes_nothing(app: App, collaborator: Chat) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.send(f"/tuchoi {code}")
    await staff.send("/xacminh " + code)  # a command still works while a form is open
    await staff.send(f"/hoi {code}")
    assert "Bạn đang điền «Không tiếp nhận hồ sơ» dở" in staff.text
    await staff.send("/huy")
    await staff.send("có")
    assert "Đã hủy. Hồ sơ không thay đổi gì." in staff.text


async def test_publish_needs_consent_and_verification(app: App, collaborator: Chat) -> None:
    case = await make_case(app, reporter="501", donor_consent="not_asked")
    staff = Chat(app, STAFF)
    await staff.send(f"/congbo {case.code}")
    assert "chưa có sự đồng ý" in staff.text
    await staff.send(f"/dongy {case.code}")
    assert f"m:dongy:{case.code}:yes" in staff.button_data()
    await staff.press(f"m:dongy:{case.code}:yes")
    assert "Đã ghi nhận sự đồng ý" in staff.text
    await staff.send(f"/congbo {case.code}")
    assert "trạng thái «Chờ xem xét»" in staff.text  # verify first
    await staff.send(f"/xacminh {case.code}")
    await staff.press(f"m:congbo:{case.code}")
    assert "Đã công bố 2 nhu cầu" in staff.text and "Chăm sóc sức khỏe, Học tập, học bổng" in staff.text
    assert (await case_by_code(app, case.code)).published_at is not None
    await staff.send(f"/congbo {case.code}")
    assert "đã được công bố rồi" in staff.text
    # consent withdrawn: off the donors' list at once
    await staff.send(f"/dongy {case.code} khong")
    assert "đã được gỡ khỏi danh sách nhà hảo tâm" in staff.text
    assert (await case_by_code(app, case.code)).published_at is None
    assert {"consent", "publish", "unpublish"} <= set(await audit_actions(app, case.id))


async def test_plan_support_and_close(app: App, collaborator: Chat, clock: Clock) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.send(f"/kehoach {code}")
    assert "trạng thái «Chờ xem xét»" in staff.text
    await staff.send(f"/xacminh {code}")
    await staff.press(f"m:kehoach:{code}")
    await staff.send("UBND xã cấp thẻ BHYT, trường miễn học phí")
    await staff.send("gửi")
    assert "Đã lưu kế hoạch hỗ trợ" in staff.text
    assert (await case_by_code(app, code)).status == "in_support"

    await staff.press(f"m:hotro:{code}")
    assert "Hỗ trợ thuộc loại nào?" in staff.text
    await staff.send("3")  # education
    await staff.send("Học bổng học kỳ 1")
    await staff.send("1tr5")
    await staff.send("25/11/2026")
    assert "Ngày này chưa đến" in staff.text
    await staff.send("hôm nay")
    assert "Giá trị: 1.500.000\xa0₫" in staff.text and "Ngày trao: 24/11/2026" in staff.text
    await staff.send("gửi")
    assert "Đã ghi nhận hỗ trợ cho hồ sơ" in staff.text and "Học tập, học bổng, 1.500.000\xa0₫" in staff.text
    case = await case_by_code(app, code)
    assert case.status == "supported"
    assert any("đã nhận được hỗ trợ" in m for m in await messages_to(app, "501"))
    async with app.db.transaction() as session:
        [delivery] = list(await session.exec(select(SupportDelivery)))
    assert (delivery.kind, delivery.value, delivery.what, str(delivery.delivered_on)) == ("education", 1_500_000, "Học bổng học kỳ 1", "2026-11-24")

    await staff.send(f"/hotro {code}")  # a second delivery, without a money value
    await staff.answers("1", "Thẻ bảo hiểm y tế", "bỏ qua", "hôm qua", "gửi")
    assert "không tính bằng tiền" in staff.text
    await staff.send(f"/hoso {code}")
    assert "Hỗ trợ đã trao: 2 lần, tổng giá trị 1.500.000\xa0₫" in staff.text

    await staff.press(f"m:dong:{code}")
    await staff.answers("Trẻ đã ổn định, sống cùng bà", "gửi")
    assert "Đã đóng hồ sơ" in staff.text
    assert (await case_by_code(app, code)).status == "closed"
    await staff.send(f"/hotro {code}")
    assert "trạng thái «Đã đóng»" in staff.text


async def test_priority_adjusted_with_a_reason(app: App, collaborator: Chat) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.send(f"/uutien {code}")
    assert "45/100" in staff.text and "Điểm ưu tiên mới" in staff.text
    await staff.send("150")
    assert "Hãy gõ một số từ 0 đến 100" in staff.text
    await staff.answers("70", "Bà ngoại vừa nhập viện, không ai chăm", "gửi")
    assert "Đã điều chỉnh ưu tiên" in staff.text and "70/100 (rất cao)" in staff.text and "điều chỉnh của cán bộ +25" in staff.text
    case = await case_by_code(app, code)
    assert case.priority == 70 and ["adjust", 25] in case.priority_parts
    assert review.rubric(case)[0] == 45
    assert "priority" in await audit_actions(app, case.id)
    await staff.send(f"/uutien {code}")  # back to the rubric: no adjustment part left
    await staff.answers("45", "Bà đã xuất viện", "gửi")
    case = await case_by_code(app, code)
    assert case.priority == 45 and not any(p[0] == "adjust" for p in case.priority_parts)


async def test_emergency_intervention_is_recorded_once(app: App, collaborator: Chat, clock: Clock) -> None:
    code = await reported(collaborator, danger=True)
    staff = Chat(app, STAFF)
    await staff.send(f"/hoso {code}")
    assert "Khẩn cấp: phải can thiệp trước" in staff.text and f"m:canthiep:{code}" in staff.button_data()
    await staff.press(f"m:canthiep:{code}")
    await staff.answers("Công an xã đưa trẻ về nhà bà ngoại", "gửi")
    assert "Đã ghi nhận can thiệp khẩn cấp" in staff.text
    await staff.send(f"/canthiep {code}")
    await staff.answers("lần nữa", "gửi")
    assert "đã được ghi nhận rồi" in staff.text
    await staff.send(f"/hoso {code}")
    assert "Khẩn cấp: đã xử lý lúc" in staff.text and f"m:canthiep:{code}" not in staff.button_data()


async def test_history_merges_events_and_audit(app: App, collaborator: Chat, clock: Clock) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.send(f"/hoso {code}")
    clock.now += timedelta(minutes=5)
    await staff.send(f"/xacminh {code}")
    await staff.send(f"/nguyco {code} thap")
    await staff.send(f"/nhatky {code}")
    text = staff.text
    assert f"Nhật ký hồ sơ {code}" in text
    for shown in ("Báo cáo được gửi", "xem dữ liệu cá nhân", "Xác minh (Chờ xem xét → Đã xác minh)", "Mức nguy cơ: -->low"):
        assert shown in text, shown
    lines = text.splitlines()
    assert lines.index(next(line for line in lines if "xem dữ liệu cá nhân" in line)) < lines.index(next(line for line in lines if "Xác minh" in line))
    case = await case_by_code(app, code)
    assert (await audit_actions(app, case.id))[-1] == "read_history"


async def test_erase_destroys_personal_data_and_keeps_the_figures(app: App, collaborator: Chat) -> None:
    code = await reported(collaborator)
    staff = Chat(app, STAFF)
    await staff.send(f"/tuchoi {code}")
    await staff.answers("Nguyễn Văn An đã có hồ sơ ở tỉnh khác", "gửi")
    await staff.press(f"m:xoa:{code}")
    assert "Căn cứ xóa" in staff.text
    await staff.answers("Người đại diện hợp pháp yêu cầu ngày 20/11/2026", "không", "gửi")
    assert "Chưa xóa gì" in staff.text
    assert (await case_by_code(app, code)).personal is not None
    await staff.send(f"/xoa {code}")
    await staff.answers("Người đại diện hợp pháp yêu cầu ngày 20/11/2026", "có")
    assert "Xác nhận xóa vĩnh viễn: Có" in staff.text
    await staff.send("gửi")
    assert "Đã xóa vĩnh viễn dữ liệu cá nhân" in staff.text
    case = await case_by_code(app, code)
    assert case.personal is None
    assert (case.status, case.groups, case.birth_year, case.province_code) == ("rejected", ["a", "d"], 2019, 15)
    async with app.db.transaction() as session:
        notes = [e.note for e in await session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))]
        needs = list(await session.exec(select(Need).where(Need.case_id == case.id)))
    assert notes and all(n is None for n in notes)
    assert len(needs) == 2  # the figures stay
    assert "erase" in await audit_actions(app, case.id)
    async with app.db.transaction() as session:  # the append-only audit log never held the free text
        details = [e.detail or "" for e in await session.exec(select(AuditEntry).where(AuditEntry.case_id == case.id))]
    assert not any("Nguyễn Văn An" in d or "tỉnh khác" in d for d in details)
    await staff.send(f"/hoso {code}")
    assert "đã bị xóa theo yêu cầu" in staff.text and "Nguyễn Văn An" not in staff.text
    await staff.send(f"/xoa {code}")
    assert "đã được xóa trước đó" in staff.text


async def test_an_unfinished_emergency_report_can_be_acted_on_but_not_verified(app: App, collaborator: Chat) -> None:
    from tests.test_report_scenarios import FULL_REPORT

    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:9], "có")  # danger: the case opens now
    await collaborator.send("/huy")
    await collaborator.send("có")
    staff = Chat(app, STAFF)
    await staff.send("/choduyet")
    assert "chưa điền xong" in staff.text and "LCA-2026-000001" in staff.text
    await staff.send("/hoso LCA-2026-000001")
    assert "chưa điền xong báo cáo" in staff.text and "Họ tên trẻ: Nguyễn Văn An" in staff.text
    await staff.send("/xacminh LCA-2026-000001")
    assert "chưa điền xong báo cáo này" in staff.text
    await staff.send("/canthiep LCA-2026-000001")
    await staff.answers("Trưởng thôn đã đến nhà, trẻ an toàn", "gửi")
    assert "Đã ghi nhận can thiệp khẩn cấp" in staff.text
