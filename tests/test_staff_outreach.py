"""Onboarding and outreach: invites with a deep link and a QR code, the collaborators list with
deactivation, adding staff, and broadcasts composed in chat, previewed, confirmed, queued in
the outbox, followed and cancelled."""

from __future__ import annotations

import io
from datetime import timedelta

import segno
from PIL import Image
from sqlalchemy import update
from sqlmodel import col, select

from bot.app import App
from bot.staff.team import QR_SCALE
from storage.models import Invite, OutboxMessage, Person
from tests.support import Chat, Clock, outbox_messages
from tests.test_staff_helpers import BAN_HO, STAFF, audit_actions, make_case, person, set_role


def qr_modules(png: bytes, size: int) -> list[list[bool]]:
    """Read the dark modules back from the PNG (border 4, QR_SCALE pixels a module)."""
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.size == ((size + 8) * QR_SCALE, (size + 8) * QR_SCALE)
    centre = QR_SCALE // 2
    return [[image.getpixel(((4 + c) * QR_SCALE + centre, (4 + r) * QR_SCALE + centre)) < 128 for c in range(size)] for r in range(size)]


async def test_invite_with_deep_link_and_a_qr_code_of_it(app: App, clock: Clock) -> None:
    app.settings.bot_username = "ChungTayLaoCaiBot"
    staff = Chat(app, STAFF)
    await staff.send("/moi ban ho")
    [reply] = staff.replies
    async with app.db.transaction() as session:
        [invite] = list(await session.exec(select(Invite)))
    assert invite.commune_code == BAN_HO and invite.expires_at == clock.now + timedelta(days=7)
    link = f"https://t.me/ChungTayLaoCaiBot?start={invite.code}"
    assert f"Mã mời cộng tác viên Xã Bản Hồ (Lào Cai): {invite.code}" in reply.text
    assert link in reply.text and "10:00 01/12/2026" in reply.text
    assert reply.image is not None
    expected = segno.make(link, error="m")
    size = expected.symbol_size(border=0)[0]
    assert qr_modules(reply.image, size) == [[bool(m) for m in row] for row in expected.matrix]
    assert "invite" in await audit_actions(app)

    newcomer = Chat(app, "555")
    await newcomer.send(f"/start {invite.code}")  # what the deep link sends
    assert "Chào mừng bạn tham gia mạng lưới cộng tác viên" in newcomer.text


async def test_invite_without_a_bot_username_and_ambiguous_names(app: App) -> None:
    staff = Chat(app, STAFF)
    await staff.send("/moi")
    assert "Gõ /moi kèm tên xã/phường" in staff.text
    await staff.send("/invite xa khong ton tai")
    assert "Không tìm thấy xã/phường" in staff.text
    await staff.send("/moi tan")  # many communes everywhere
    assert "Có nhiều xã/phường khớp" in staff.text
    choice = staff.button_data()[0]
    await staff.press(choice)
    assert "Mã mời cộng tác viên" in staff.text and "t.me" not in staff.text and "/start " in staff.text
    assert staff.replies[0].image is not None
    await staff.send("/moi ban ho, lao cai")
    assert "Xã Bản Hồ (Lào Cai)" in staff.text


async def test_collaborators_list_and_deactivation(app: App, collaborator: Chat, clock: Clock) -> None:
    await make_case(app, reporter="501")
    clock.now += timedelta(days=2)
    await make_case(app, reporter="501")
    other = await Chat.collaborator(app, user="502", commune="Cốc Lầu")
    me = await person(app, "501")
    staff = Chat(app, STAFF)
    await staff.send("/ctv")
    text = staff.text
    assert "Cộng tác viên: 2" in text
    assert f"#{me.id} · telegram:501 · Xã Bản Hồ (Lào Cai) · 2 báo cáo · báo gần nhất 26/11/2026" in text
    assert "Xã Cốc Lầu (Lào Cai) · 0 báo cáo · chưa báo lần nào" in text
    await staff.send("/ctv coc lau")
    assert "Cộng tác viên · Xã Cốc Lầu (Lào Cai): 1" in staff.text and "Bản Hồ" not in staff.text.split("\n", 1)[1]

    await staff.press(f"m:ctv:tat:{me.id}")
    assert f"Đã tạm dừng cộng tác viên #{me.id}" in staff.text
    await collaborator.send("/baocao")
    assert "Lệnh /baocao chỉ dành cho" in collaborator.text  # a deactivated collaborator cannot report
    await staff.send("/ctv")
    assert "đã tạm dừng" in staff.text and f"m:ctv:bat:{me.id}" in staff.button_data()
    await staff.press(f"m:ctv:bat:{me.id}")
    assert "Đã mở lại" in staff.text
    await collaborator.send("/baocao")
    assert "Họ và tên của trẻ" in collaborator.text
    assert {"collaborator_off", "collaborator_on"} <= set(await audit_actions(app))
    await staff.send("/ctv tat 99999")
    assert "Không tìm thấy cộng tác viên này" in staff.text
    assert other.user == "502"


async def test_add_staff(app: App) -> None:
    newcomer = Chat(app, "4242")
    await newcomer.send("/start")
    staff = Chat(app, STAFF)
    await staff.send("/nhanvien")
    assert "Cán bộ: 2" in staff.text and "telegram:9001" in staff.text
    await staff.send("/nhanvien them 4242")
    assert "Đã thêm 4242 làm cán bộ" in staff.text
    assert (await person(app, "4242")).role == "staff"
    assert any(m.chat_id == "4242" and "thêm làm cán bộ" in m.payload["text"] for m in await outbox_messages(app))
    await newcomer.send("/tomtat")
    assert "Tóm tắt" in newcomer.text
    await staff.send("/staff them 4242")
    assert "đã là cán bộ" in staff.text
    await staff.send("/nhanvien them 12;DROP")
    assert "Mã tài khoản không hợp lệ" in staff.text
    await staff.send("/nhanvien bo 9001")
    assert "không thể tự bỏ quyền" in staff.text
    await staff.send("/nhanvien bo 9002")
    assert "STAFF_IDS" in staff.text
    await staff.send("/nhanvien bo 4242")
    assert "Đã bỏ quyền cán bộ" in staff.text
    await newcomer.send("/tomtat")
    assert "chỉ dành cho cán bộ" in newcomer.text
    assert {"staff_add", "staff_remove"} <= set(await audit_actions(app))


async def broadcast_messages(app: App) -> list[OutboxMessage]:
    return [m for m in await outbox_messages(app) if m.kind == "broadcast"]


async def test_broadcast_to_donors_previewed_confirmed_followed_and_cancelled(app: App) -> None:
    for user in ("601", "602", "603"):
        await set_role(app, user, "donor")
    quiet = await set_role(app, "604", "donor")
    async with app.db.transaction() as session:
        await session.exec(update(Person).where(col(Person.external_id) == quiet.user).values(notify=False))  # /tatthongbao
    await set_role(app, "605", "collaborator")
    staff = Chat(app, STAFF)
    await staff.send("/phatsong nha hao tam")
    assert "Soạn tin gửi tới nhà hảo tâm (3 người)" in staff.text
    await staff.send("Tết này Sở Y tế Lào Cai kêu gọi ủng hộ áo ấm cho 120 trẻ vùng cao.")
    await staff.send("gửi")
    head, preview = staff.replies
    assert "Xem trước" in head.text and "3 người" in head.text
    assert preview.text.startswith("📢 Tin từ Sở Y tế Lào Cai:") and "áo ấm cho 120 trẻ" in preview.text and "/tatthongbao" in preview.text
    assert await broadcast_messages(app) == []  # nothing goes before the confirmation
    send = next(d for d in staff.button_data() if d.startswith("m:phatsong:gui:"))
    await staff.press(send)
    assert "Đã xếp 3 tin vào hàng gửi" in staff.text and "đã gửi 0/3" in staff.text
    queued = await broadcast_messages(app)
    assert sorted(m.chat_id for m in queued) == ["601", "602", "603"]
    assert all(m.payload["text"] == preview.text and m.batch == queued[0].batch for m in queued)

    async with app.db.transaction() as session:  # the sender delivers one and fails one for good
        await session.exec(update(OutboxMessage).where(col(OutboxMessage.id) == queued[0].id).values(status="sent"))
        await session.exec(update(OutboxMessage).where(col(OutboxMessage.id) == queued[1].id).values(status="failed"))
    batch = queued[0].batch
    await staff.press(f"m:phatsong:tiendo:{batch}")
    assert "đã gửi 1/3 · lỗi 1 · đang chờ 1" in staff.text and f"m:phatsong:dung:{batch}" in staff.button_data()
    await staff.press(f"m:phatsong:dung:{batch}")
    assert "Đã dừng: 1 tin chưa gửi" in staff.text and "đã dừng 1" in staff.text
    statuses = sorted(m.status for m in await broadcast_messages(app))
    assert statuses == ["cancelled", "failed", "sent"]
    await staff.press(send)  # pressing "send" again sends nothing twice
    assert "đã được xử lý rồi" in staff.text and len(await broadcast_messages(app)) == 3
    await staff.send("/phatsong")
    assert "Các tin gần đây" in staff.text and "đã gửi 1/3" in staff.text
    assert {"broadcast", "broadcast_cancel"} <= set(await audit_actions(app))


async def test_broadcast_to_the_collaborators_of_one_commune(app: App, collaborator: Chat) -> None:
    await Chat.collaborator(app, user="502", commune="Cốc Lầu")
    staff = Chat(app, STAFF)
    await staff.send("/broadcast ctv ban ho")
    assert "cộng tác viên Xã Bản Hồ (Lào Cai) (1 người)" in staff.text
    await staff.answers("Họp cộng tác viên thứ Sáu 8 giờ tại UBND xã.", "gửi")
    await staff.press(next(d for d in staff.button_data() if d.startswith("m:phatsong:gui:")))
    assert [m.chat_id for m in await broadcast_messages(app)] == ["501"]

    await staff.send("/phatsong ctv")
    await staff.answers("Nhắc: rà soát hồ sơ trước cuối tháng.", "gửi")
    cancel = next(d for d in staff.button_data() if d.startswith("m:phatsong:huy:"))
    await staff.press(cancel)
    assert "không gửi tin nào" in staff.text and len(await broadcast_messages(app)) == 1


async def test_broadcast_usage_and_empty_audience(app: App) -> None:
    staff = Chat(app, STAFF)
    await staff.send("/phatsong ai do")
    assert "Gõ /phatsong donors" in staff.text
    await staff.send("/phatsong donors")
    assert "Chưa có ai trong nhóm «nhà hảo tâm»" in staff.text
    await staff.send("/phatsong gui 999")
    assert "Không tìm thấy tin phát sóng này" in staff.text
