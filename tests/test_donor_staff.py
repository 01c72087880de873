"""/camket: staff confirm pledges as received (amount, date) or lapsed, and the donor is told."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.app import App
from storage.audit import AuditEntry
from tests.support import Chat, outbox_messages
from tests.test_donor_helpers import (
    all_pledges,
    code_of,
    donor,
    need_of,
    publish,
    ready_to_confirm,
    with_bank,
)


async def pledged(app: App, user: str, amount: str = "1 triệu", message: str = "bỏ qua", **case_kw: object) -> tuple[Chat, int]:
    with_bank(app)
    case = await publish(app, **case_kw)  # type: ignore[arg-type]
    chat = await donor(app, user)
    await ready_to_confirm(chat, await code_of(app, case.id), "1", amount, message)
    await chat.send("gửi")
    assert "Đã ghi cam kết" in chat.text
    return chat, case.id


async def messages_to(app: App, chat_id: str) -> list[str]:
    return [m.payload["text"] for m in await outbox_messages(app) if m.chat_id == chat_id]


async def test_staff_list_waiting_pledges_and_confirm_a_receipt(app: App) -> None:
    donor_chat, case_id = await pledged(app, "740", needs={"education": 1_500_000})
    [pledge] = await all_pledges(app)
    staff = await Chat.staff(app, "9001")
    await staff.send("/camket")
    assert "Cam kết chờ xác nhận: 1" in staff.text
    assert f"{pledge.ref} · 24/11/2026 · 1.000.000\xa0₫ · LCA-2026-000001 «Học tập, học bổng» · Nguyễn Văn Bình" in staff.text
    await staff.press(f"m:camket:x:{pledge.id}")
    assert "Trạng thái: chờ xác nhận" in staff.text
    await staff.press(f"m:camket:nhan:{pledge.id}")
    assert "Số đã cam kết: 1.000.000\xa0₫" in staff.text and "Số tiền đã nhận?" in staff.text
    await staff.send("800k")
    await staff.send("32/11/2026")
    assert "không có thật" in staff.text
    await staff.send("25/11/2026")
    assert "nằm trong tương lai" in staff.text
    await staff.send("23/11")
    assert "Số tiền đã nhận: 800.000\xa0₫" in staff.text and "Ngày nhận: 23/11/2026" in staff.text
    await staff.send("gửi")
    assert f"Đã ghi nhận {pledge.ref}: 800.000\xa0₫, ngày 23/11/2026" in staff.text
    assert "Không có cam kết nào đang chờ xác nhận" in staff.text

    [done] = await all_pledges(app)
    assert (done.status, done.received_amount, done.received_on) == ("received", 800_000, date(2026, 11, 23))
    need = await need_of(app, case_id)
    assert (need.received, need.pledged) == (800_000, 800_000)  # pledged follows what really came
    told = await messages_to(app, "740")
    assert told and f"đã nhận 800.000\xa0₫ cho cam kết {pledge.ref} («Học tập, học bổng») ngày 23/11/2026" in told[-1]
    async with app.db.transaction() as session:
        actions = [e.action for e in await session.exec(select(AuditEntry))]
    assert "pledge_received" in actions
    # the donor sees it in their list
    await donor_chat.send("/daungho")
    assert "✅ đã nhận 800.000\xa0₫ ngày 23/11/2026" in donor_chat.text


async def test_receipt_in_full_today_by_reference(app: App) -> None:
    _chat, case_id = await pledged(app, "741", amount="500k")
    [pledge] = await all_pledges(app)
    staff = await Chat.staff(app, "9001")
    await staff.send(f"/camket {pledge.ref.lower()}")  # the reference as donors read it out
    assert pledge.ref in staff.text and "m:camket:nhan:" + str(pledge.id) in staff.button_data()
    await staff.press(f"m:camket:nhan:{pledge.id}")
    await staff.answers("đủ", "hôm nay", "gửi")
    need = await need_of(app, case_id)
    assert (need.received, need.pledged) == (500_000, 500_000)
    await staff.press(f"m:camket:nhan:{pledge.id}")  # twice: nothing happens twice
    assert "đã được xử lý rồi" in staff.text
    assert (await need_of(app, case_id)).received == 500_000


async def test_lapsed_pledge_reopens_the_need_and_the_donor_is_told(app: App) -> None:
    _chat, case_id = await pledged(app, "742", amount="tất cả", needs={"education": 1_000_000})
    [pledge] = await all_pledges(app)
    other = await donor(app, "743")
    await other.send("/nhucau")
    assert "Hiện chưa có nhu cầu nào" in other.text  # fully pledged: off the list
    staff = await Chat.staff(app, "9001")
    await staff.press(f"m:camket:het:{pledge.id}")
    assert "Đánh dấu cam kết" in staff.text and f"m:camket:het:{pledge.id}:ok" in staff.button_data()
    await staff.press(f"m:camket:het:{pledge.id}:ok")
    assert f"Đã đánh dấu {pledge.ref} là hết hạn" in staff.text
    [lapsed] = await all_pledges(app)
    assert lapsed.status == "lapsed"
    assert (await need_of(app, case_id)).pledged == 0
    assert "đã được đóng vì Sở Y tế Lào Cai chưa nhận được" in (await messages_to(app, "742"))[-1]
    await other.send("/nhucau")
    assert "1 trẻ" in other.text  # back on the list for others


async def test_staff_read_the_message_before_it_is_passed_on(app: App) -> None:
    _chat, _case_id = await pledged(app, "744", message="Chúc cháu mạnh khỏe, học giỏi")
    [pledge] = await all_pledges(app)
    staff = await Chat.staff(app, "9001")
    await staff.send("/camket")
    assert "✉️ có lời nhắn chờ đọc" in staff.text
    await staff.press(f"m:camket:x:{pledge.id}")
    assert "Lời nhắn tới gia đình (chờ đọc): «Chúc cháu mạnh khỏe, học giỏi»" in staff.text
    await staff.press(f"m:camket:chuyen:{pledge.id}")
    assert "(đã chuyển)" in staff.text
    assert "Lời nhắn của bạn trong cam kết" in (await messages_to(app, "744"))[-1]
    [row] = await all_pledges(app)
    assert row.message_status == "passed"


async def test_withheld_message_is_not_announced(app: App) -> None:
    await pledged(app, "745", message="Số của tôi là 0912 000 111, gọi tôi nhé")
    [pledge] = await all_pledges(app)
    before = len(await messages_to(app, "745"))
    staff = await Chat.staff(app, "9001")
    await staff.press(f"m:camket:giu:{pledge.id}")
    assert "(không chuyển)" in staff.text
    assert len(await messages_to(app, "745")) == before
    [row] = await all_pledges(app)
    assert row.message_status == "withheld"


async def test_goods_received_with_a_value(app: App) -> None:
    case = await publish(app, needs={"clothing": None})
    chat = await donor(app, "746")
    await ready_to_confirm(chat, await code_of(app, case.id), "chăn ấm", "5", "bỏ qua", "bỏ qua")
    await chat.send("gửi")
    [pledge] = await all_pledges(app)
    staff = await Chat.staff(app, "9001")
    await staff.press(f"m:camket:nhan:{pledge.id}")
    assert "Giá trị ước tính của hiện vật" in staff.text
    await staff.answers("1,2 triệu", "hôm qua", "gửi")
    need = await need_of(app, case.id, "clothing")
    assert (need.received, need.pledged) == (1_200_000, 1_200_000)
    assert "5 × chăn ấm (1.200.000\xa0₫)" in (await messages_to(app, "746"))[-1]


async def test_paging_through_many_waiting_pledges(app: App) -> None:
    with_bank(app)
    case = await publish(app, needs={"education": 10_000_000})
    code = await code_of(app, case.id)
    for i in range(10):
        chat = await donor(app, f"75{i}")
        await ready_to_confirm(chat, code, "1", "100k", "bỏ qua")
        await chat.send("gửi")
    staff = await Chat.staff(app, "9001")
    await staff.send("/camket")
    assert "Cam kết chờ xác nhận: 10 (trang 1/2)" in staff.text and "m:camket:2" in staff.button_data()
    await staff.press("m:camket:2")
    assert "trang 2/2" in staff.text and staff.text.count("• UH-") == 2


async def test_only_staff_confirm_pledges(app: App, collaborator: Chat) -> None:
    chat = await donor(app, "760")
    await chat.send("/camket")
    assert "chỉ dành cho cán bộ được giao" in chat.text
    await collaborator.send("/camket")
    assert "chỉ dành cho cán bộ được giao" in collaborator.text
    async with app.db.transaction() as session:
        refused = [e.action for e in await session.exec(select(AuditEntry)) if e.action.startswith("refused:")]
    assert refused.count("refused:/camket") == 2
    staff = await Chat.staff(app, "9001")
    await staff.send("/camket")
    assert "Không có cam kết nào đang chờ xác nhận" in staff.text
    await staff.send("/camket UH-NOSUCH")
    assert "Không tìm thấy cam kết «UH-NOSUCH»" in staff.text
