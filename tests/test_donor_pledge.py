"""Pledging from a card: money with a VietQR code, goods, caps, bad input, cancelling."""

from __future__ import annotations

import io
import re

import pytest
import segno
from PIL import Image

from bot.app import App
from bot.payments.vietqr import crc16_ccitt_false, parse_payload
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


def qr_modules(png: bytes, scale: int = 8, border: int = 4) -> list[list[bool]]:
    """Read the QR image back into its grid of dark modules (segno draws exact squares)."""
    image = Image.open(io.BytesIO(png)).convert("L")
    size = image.width // scale - 2 * border
    return [[image.getpixel(((border + x) * scale + scale // 2, (border + y) * scale + scale // 2)) < 128
             for x in range(size)] for y in range(size)]


def expected_modules(payload: str) -> list[list[bool]]:
    qr = segno.make(payload, error="m", boost_error=False, micro=False)
    return [[bool(v) for v in row] for row in qr.matrix]


def decode_fields(payload: str) -> dict[str, object]:
    """The VietQR payload back into its fields, checking every length and the CRC."""
    return parse_payload(payload)


async def test_money_pledge_with_vietqr(app: App) -> None:
    with_bank(app)
    case = await publish(app, needs={"health": 500_000, "education": 1_500_000})
    code = await code_of(app, case.id)
    chat = await donor(app, "720")
    await chat.send("/nhucau")
    await chat.press(f"m:ungho:{code}")
    assert "Bạn muốn ủng hộ nhu cầu nào?" in chat.text
    education = await need_of(app, case.id, "education")
    assert "🎓 Học tập, học bổng — còn thiếu 1.500.000\xa0₫" in chat.text
    await chat.press(f"m:ungho:{code}:{education.id}")
    assert "Ủng hộ «Học tập, học bổng» cho trẻ TE-" in chat.text and "(1/2) Bạn muốn ủng hộ bằng tiền hay hiện vật?" in chat.text
    await chat.send("tiền")
    await chat.send("1,5 triệu")
    await chat.send("Chúc cháu học thật giỏi")
    assert "Số tiền: 1.500.000\xa0₫" in chat.text and "Lời nhắn: Chúc cháu học thật giỏi" in chat.text
    await chat.send("gửi")

    [pledge] = await all_pledges(app)
    assert re.fullmatch(r"UH-[A-HJ-NP-Z2-9]{6}", pledge.ref)
    assert (pledge.kind, pledge.amount, pledge.status, pledge.message_status) == ("money", 1_500_000, "pending", "pending")
    assert pledge.message == "Chúc cháu học thật giỏi"
    assert (await need_of(app, case.id, "education")).pledged == 1_500_000
    text = chat.text
    assert f"Đã ghi cam kết {pledge.ref}: 1.500.000\xa0₫ cho «Học tập, học bổng» của trẻ TE-{code}" in text
    for shown in ("Ngân hàng: Vietcombank", "Số tài khoản: 0011001932418", "Chủ tài khoản: QUY BAO TRO TRE EM LAO CAI",
                  f"Nội dung chuyển khoản: {pledge.ref}", "cán bộ đọc trước khi chuyển", "/daungho"):
        assert shown in text, shown
    [image] = [r.image for r in chat.replies if r.image]
    assert image.startswith(b"\x89PNG\r\n\x1a\n")

    # The image is the QR code of this payload, and the payload decodes back field by field.
    payload = (
        "000201" "010212"
        "38570010A000000727" "01270006970436" "01130011001932418" "0208QRIBFTTA"
        "5303704" "54071500000" "5802VN" f"62130809{pledge.ref}" "6304"
    )
    payload += f"{crc16_ccitt_false(payload.encode()):04X}"
    assert qr_modules(image) == expected_modules(payload)
    fields = decode_fields(payload)
    assert fields["00"] == "01"  # payload format
    assert fields["01"] == "12"  # dynamic: single use, with an amount
    merchant = fields["38"]
    assert isinstance(merchant, dict)
    assert merchant["00"] == "A000000727"  # NAPAS
    assert merchant["01"] == {"00": "970436", "01": "0011001932418"}  # bank BIN, account
    assert merchant["02"] == "QRIBFTTA"  # transfer to an account
    assert fields["53"] == "704"  # VND
    assert fields["54"] == "1500000"
    assert fields["58"] == "VN"
    assert fields["62"] == {"08": pledge.ref}  # the reference as the transfer note
    assert fields["63"] == f"{crc16_ccitt_false(payload[:-4].encode()):04X}"
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the CRC-16/CCITT-FALSE check value

    # staff hear about it, with the case number they work with
    alerts = [m for m in await outbox_messages(app) if m.chat_id == "9001"]
    assert alerts and pledge.ref in alerts[-1].payload["text"] and case.code in alerts[-1].payload["text"]


@pytest.mark.parametrize(("typed", "amount"), [("500k", 500_000), ("1,5 triệu", 1_500_000), ("1.500.000", 1_500_000), ("1tr2", 1_200_000), ("1.5 million", 1_500_000), ("2m", 2_000_000)])
async def test_amounts_typed_the_vietnamese_way(app: App, typed: str, amount: int) -> None:
    with_bank(app)
    case = await publish(app, needs={"education": 2_000_000})
    chat = await donor(app, "721")
    await ready_to_confirm(chat, await code_of(app, case.id), "1", typed, "bỏ qua")
    await chat.send("gửi")
    [pledge] = await all_pledges(app)
    assert pledge.amount == amount and (await need_of(app, case.id)).pledged == amount


async def test_amount_capped_at_what_is_still_needed_with_the_rest_offered(app: App) -> None:
    with_bank(app)
    case = await publish(app, needs={"education": 1_500_000}, pledged={"education": 1_000_000})
    other = await publish(app, needs={"nutrition": 900_000})
    chat = await donor(app, "722")
    await chat.press(f"m:ungho:{await code_of(app, case.id)}")
    assert "còn thiếu 500.000\xa0₫" in chat.text
    await chat.answers("1", "2 triệu")
    assert "chỉ còn thiếu 500.000\xa0₫, nên cam kết của bạn được ghi là 500.000\xa0₫" in chat.text
    assert "Phần còn lại (1.500.000\xa0₫)" in chat.text
    await chat.answers("bỏ qua")
    assert "Số tiền: 500.000\xa0₫" in chat.text
    await chat.send("gửi")
    assert "Bạn còn muốn ủng hộ 1.500.000\xa0₫ cho nhu cầu khác?" in chat.text and "m:nhucau" in chat.button_data()
    assert (await need_of(app, case.id)).pledged == 1_500_000
    # the fully pledged child leaves the list; the other stays
    await chat.send("/nhucau")
    assert f"TE-{await code_of(app, other.id)}" in chat.text and f"TE-{await code_of(app, case.id)}" not in chat.text


async def test_all_of_what_is_left(app: App) -> None:
    case = await publish(app, needs={"education": 1_500_000}, pledged={"education": 200_000})
    chat = await donor(app, "723")
    await ready_to_confirm(chat, await code_of(app, case.id), "1", "tất cả", "bỏ qua", "bỏ qua")
    assert "Số tiền: 1.300.000\xa0₫" in chat.text
    await chat.send("gửi")
    assert (await need_of(app, case.id)).pledged == 1_500_000


async def test_bad_amount_is_explained_and_the_form_waits(app: App) -> None:
    with_bank(app)
    case = await publish(app)
    chat = await donor(app, "724")
    await chat.press(f"m:ungho:{await code_of(app, case.id)}")
    await chat.send("1")
    await chat.send("nhiều lắm")
    assert "Chưa hiểu số tiền" in chat.text and "Bạn muốn ủng hộ bao nhiêu?" in chat.text
    await chat.send("-5k")
    assert "không thể là số âm" in chat.text
    await chat.send("300k")
    assert "Lời nhắn tới gia đình trẻ" in chat.text


async def test_goods_pledge_for_a_need_in_kind(app: App) -> None:
    case = await publish(app, needs={"clothing": None})
    chat = await donor(app, "725")
    await chat.send(f"/ungho TE-{await code_of(app, case.id)}")
    assert "ủng hộ bằng hiện vật" in chat.text and "Bạn muốn ủng hộ hiện vật gì?" in chat.text
    await chat.send("áo ấm mùa đông")
    await chat.send("mười")
    assert "Hãy gõ một số từ 1 đến 100000" in chat.text
    await chat.send("10")
    assert "Số điện thoại để cán bộ liên hệ" in chat.text
    await chat.send("0912 345 678")
    await chat.send("bỏ qua")
    assert "Hiện vật: áo ấm mùa đông" in chat.text and "Số lượng: 10" in chat.text
    await chat.send("gửi")
    [pledge] = await all_pledges(app)
    assert (pledge.kind, pledge.goods, pledge.quantity, pledge.contact, pledge.amount) == ("goods", "áo ấm mùa đông", 10, "+84912345678", None)
    assert "10 × áo ấm mùa đông" in chat.text and "sẽ gọi cho bạn để hẹn nhận hiện vật" in chat.text
    assert not any(r.image for r in chat.replies)
    assert (await need_of(app, case.id, "clothing")).pledged == 0
    staff_alert = [m for m in await outbox_messages(app) if m.chat_id == "9001"][-1].payload["text"]
    assert "☎ 0912 345 678" in staff_alert  # only staff see the donor's phone


async def test_goods_for_a_costed_need(app: App) -> None:
    case = await publish(app, needs={"education": 1_000_000})
    chat = await donor(app, "726")
    await ready_to_confirm(chat, await code_of(app, case.id), "hiện vật", "vở và bút", "20", "bỏ qua", "bỏ qua")
    await chat.send("gửi")
    assert "Hãy gửi hoặc mang hiện vật tới Sở Y tế Lào Cai, kèm mã UH-" in chat.text
    assert (await need_of(app, case.id)).pledged == 0


async def test_without_a_bank_account_staff_will_call(app: App) -> None:
    case = await publish(app, needs={"education": 1_000_000})
    chat = await donor(app, "727")
    await ready_to_confirm(chat, await code_of(app, case.id), "1", "400k", "0987 111 222", "bỏ qua")
    await chat.send("gửi")
    assert "Cán bộ Sở Y tế Lào Cai sẽ gọi cho bạn theo số đã để lại để hướng dẫn chuyển tiền" in chat.text
    assert not any(r.image for r in chat.replies)
    staff_alert = [m for m in await outbox_messages(app) if m.chat_id == "9001"][-1].payload["text"]
    assert "Chưa cấu hình tài khoản nhận ủng hộ" in staff_alert and "0987 111 222" in staff_alert
    # and without a phone either
    other = await donor(app, "728")
    await ready_to_confirm(other, await code_of(app, case.id), "1", "100k", "bỏ qua", "bỏ qua")
    await other.send("gửi")
    assert "Cán bộ Sở Y tế Lào Cai đã được báo và sẽ liên hệ để hướng dẫn chuyển tiền" in other.text


async def test_my_pledges_and_the_qr_again(app: App) -> None:
    with_bank(app)
    case = await publish(app, needs={"education": 1_000_000})
    chat = await donor(app, "729")
    await ready_to_confirm(chat, await code_of(app, case.id), "1", "250k", "bỏ qua")
    await chat.send("gửi")
    [pledge] = await all_pledges(app)
    await chat.send("/daungho")
    assert f"{pledge.ref} · 24/11/2026 · 250.000\xa0₫ · Học tập, học bổng · TE-{await code_of(app, case.id)} — ⏳ chờ chuyển khoản" in chat.text
    assert f"m:chuyenkhoan:{pledge.ref}" in chat.button_data()
    await chat.press(f"m:chuyenkhoan:{pledge.ref}")
    assert "Số tiền: 250.000\xa0₫" in chat.text and any(r.image for r in chat.replies)
    stranger = await donor(app, "730")
    await stranger.send(f"/chuyenkhoan {pledge.ref}")  # someone else's reference: nothing shown
    assert "Không tìm thấy cam kết này" in stranger.text and not any(r.image for r in stranger.replies)


async def test_guest_pledging_by_code_registers_first(app: App) -> None:
    case = await publish(app)
    guest = Chat(app, "731")
    await guest.send(f"/ungho {await code_of(app, case.id)}")
    assert "Đăng ký nhà hảo tâm" in guest.text
    await guest.answers("Trần Hoa", "1", "gửi")
    assert "Chào mừng Trần Hoa" in guest.text and "Bạn muốn ủng hộ bằng tiền hay hiện vật?" in guest.text


async def test_cancelling_records_nothing(app: App) -> None:
    case = await publish(app)
    chat = await donor(app, "732")
    await chat.press(f"m:ungho:{await code_of(app, case.id)}")
    await chat.answers("1", "500k")
    await chat.send("/huy")
    await chat.send("có")
    assert "Đã hủy, chưa có cam kết nào được ghi" in chat.text
    assert await all_pledges(app) == [] and (await need_of(app, case.id)).pledged == 0


async def test_unknown_code_and_a_form_already_open(app: App) -> None:
    case = await publish(app)
    chat = await donor(app, "733")
    await chat.send("/ungho TE-ZZZZZZ")
    assert "Không tìm thấy trẻ mã" in chat.text
    await chat.send("/ungho")
    assert "Hãy gõ mã của trẻ" in chat.text
    await chat.press(f"m:ungho:{await code_of(app, case.id)}")
    await chat.send(f"/ungho {await code_of(app, case.id)}")
    assert "Bạn đang điền «Cam kết ủng hộ» dở" in chat.text


async def test_a_command_that_starts_another_form_keeps_the_open_one(app: App) -> None:
    """/dangky or /ungho typed half way through a pledge: the pledge and its answers stay."""
    with_bank(app)
    case = await publish(app)
    other = await publish(app)
    chat = await donor(app, "731")
    await chat.press(f"m:ungho:{await code_of(app, case.id)}")
    await chat.send("1")
    assert "Bạn muốn ủng hộ bao nhiêu?" in chat.text
    for typed in ("/dangky", f"/ungho {await code_of(app, other.id)}", "/register", "/baocao"):
        await chat.send(typed)
        assert "đang điền «" in chat.replies[0].text and "/huy" in chat.replies[0].text
        assert "Bạn muốn ủng hộ bao nhiêu?" in chat.text  # the question it was at, asked again
    await chat.send("300k")  # the earlier answer (money) was kept
    assert "Lời nhắn tới gia đình trẻ" in chat.text
