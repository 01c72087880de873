"""The bot on Zalo, against a Zalo Bot API on loopback (tests/fakes/zalo_api.py): the shared
scenarios typed as text only, delivery under 429/5xx storms, redelivery, the webhook secret,
long texts, photos and downloads by URL, a kill -9 mid-form, and linking a Zalo account to a
Telegram one."""

from __future__ import annotations

import asyncio
import collections
import io
import re
import signal
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import segno
from sqlmodel import select

from bot.app import App
from bot.channels import zalo
from bot.core import Button, Reply
from bot.delivery import Permanent, RetryLater, Transient
from bot.settings import Settings
from storage import audit, donors, links, people
from storage.models import Person
from tests.fakes.zalo_api import FakeZaloAPI
from tests.support import Chat, Clock, outbox_messages
from tests.support.process import bot_env, cli, start_bot
from tests.support.zalo import TOKEN, ZaloUser, free_port, running_bot, settle, zalo_id
from tests.test_report_scenarios import FULL_REPORT

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the channel runs; the core suite covers PostgreSQL
STAFF = (zalo_id(9001), zalo_id(9002))


def _ban_ho() -> tuple[int, int]:
    from conversations.parsing import places

    province = places.search_provinces("Lào Cai")[0].code
    return province, places.search_wards(province, "Bản Hồ")[0].code


async def invite_code(app: App) -> str:
    async with app.db.transaction() as session:
        invite = await people.create_invite(session, *_ban_ho(), now=app.clock())
    return invite.code


def png(width: int = 4) -> bytes:
    buffer = io.BytesIO()
    segno.make("chung tay", micro=False).save(buffer, kind="png", scale=width)
    return buffer.getvalue()


def numbered(text: str) -> list[str]:
    return re.findall(r"^(\d+)\. ", text, flags=re.MULTILINE)


# ---- updates in, replies out (no network) -------------------------------------------------------


def test_updates_become_events_with_a_stable_key() -> None:
    message = {"from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
               "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
               "text": "/start ABCD2345", "message_id": "2d758cb5e222177a4e35", "date": 1750316131602}
    enveloped = {"ok": True, "result": {"event_name": "message.text.received", "message": message}}
    event = zalo.event_from_update(enveloped)
    assert event is not None and (event.channel, event.user, event.chat, event.name) == ("zalo", "6ede9afa66b88fe6d6a9", "6ede9afa66b88fe6d6a9", "Ted")
    assert (event.command, event.args, event.update) == ("start", ("ABCD2345",), "6ede9afa66b88fe6d6a9:2d758cb5e222177a4e35")
    assert zalo.event_from_update({"event_name": "message.text.received", "message": message}) == event  # bare, as getUpdates may give it

    image = zalo.event_from_update({"event_name": "message.image.received", "message": {**message, "text": None, "photo": "https://zalo.example/p.jpg"}})
    assert image is not None and image.photo == "https://zalo.example/p.jpg" and image.text is None
    sticker = zalo.event_from_update({"event_name": "message.sticker.received", "message": {**message, "text": None, "sticker": "abc"}})
    assert sticker is not None and (sticker.text, sticker.photo, sticker.command) == (None, None, None)
    hidden = zalo.event_from_update({"event_name": "message.unsupported.received", "message": {**message, "text": None}})
    assert hidden is not None and hidden.update == event.update  # a protected sender: content hidden, still answered

    group = {**message, "chat": {"id": "g1", "chat_type": "GROUP"}}
    assert zalo.event_from_update({"event_name": "message.text.received", "message": group}) is None
    from_bot = {**message, "from": {"id": "b", "is_bot": True}}
    assert zalo.event_from_update({"event_name": "message.text.received", "message": from_bot}) is None
    assert zalo.event_from_update({"ok": True, "result": {"event_name": "message.text.received"}}) is None
    assert zalo.event_from_update({"something": "else"}) is None

    without_id = {k: v for k, v in message.items() if k != "message_id"}
    first = zalo.event_from_update({"event_name": "message.text.received", "message": without_id})
    again = zalo.event_from_update({"event_name": "message.text.received", "message": dict(without_id)})
    assert first is not None and again is not None and first.update == again.update and first.update.startswith("h:")
    later = zalo.event_from_update({"event_name": "message.text.received", "message": {**without_id, "date": 1750316131603}})
    assert later is not None and later.update != first.update


def test_zalo_gets_its_own_api_address_unless_one_is_set() -> None:
    from bot.service import make_adapter

    adapter = make_adapter(Settings(_env_file=None, bot_framework="zalo", bot_token="1:t"))
    assert adapter.client._root == f"{zalo.DEFAULT_BASE_URL}/bot1:t/"
    adapter = make_adapter(Settings(_env_file=None, bot_framework="zalo", bot_token="1:t", bot_api_base_url="http://127.0.0.1:9/"))
    assert adapter.client._root == "http://127.0.0.1:9/bot1:t/"


def test_replies_are_planned_as_numbered_text_photos_and_links() -> None:
    menu = Reply("Chọn việc cần làm:", buttons=((Button("📝 Báo cáo", "m:baocao"),), (Button("❓ Trợ giúp", "m:trogiup"), Button("Quay lại", "f:back", typed="quay lại"))))
    [action] = zalo.plan_reply(menu)
    assert action.kind == "text" and action.text == "Chọn việc cần làm:\n\n1. 📝 Báo cáo\n2. ❓ Trợ giúp\n✎ quay lại"
    assert "m:baocao" not in action.text

    lines = [f"{i:04d} " + "một dòng khá dài của danh sách " * 3 for i in range(80)]
    parts = zalo.plan_reply(Reply("\n".join(lines)))
    assert len(parts) > 1 and all(len(p.text.encode("utf-16-le")) // 2 <= 2000 for p in parts)
    assert "\n".join(p.text for p in parts).split("\n") == lines  # cut only at line breaks

    image = png()
    [photo] = zalo.plan_reply(Reply("Mã QR chuyển khoản", image=image))
    assert (photo.kind, photo.text, photo.data) == ("photo", "Mã QR chuyển khoản", image)
    long_caption = zalo.plan_reply(Reply("\n".join(lines), image=image))
    assert long_caption[0].kind == "photo" and long_caption[0].text == "" and all(a.kind == "text" for a in long_caption[1:])
    [certificate] = zalo.plan_reply(Reply("Giấy cảm ơn", document=("giay-cam-on.png", image)))
    assert certificate.kind == "photo" and certificate.name == "giay-cam-on.png"
    [workbook] = zalo.plan_reply(Reply("Danh sách", document=("danh-sach.xlsx", b"PK\x03\x04")))
    assert (workbook.kind, workbook.name, workbook.text) == ("download", "danh-sach.xlsx", "Danh sách")


@pytest.mark.parametrize("http_status", [False, True], ids=["ok-false-in-200", "http-status"])
async def test_client_maps_zalo_errors_to_delivery_errors(http_status: bool) -> None:
    async with FakeZaloAPI(token=TOKEN, http_status=http_status) as api:
        client = zalo.ZaloClient(TOKEN, api.base_url)
        try:
            assert (await client.get_me())["account_type"] == "BASIC"
            api.fail_next("sendMessage", 429)
            with pytest.raises(RetryLater) as limited:
                await client.send_message("u1", "xin chào")
            assert limited.value.retry_after == zalo.RETRY_429
            for fault, error in ((500, Transient), ("proxy", Transient), (403, Transient), (400, Permanent)):
                api.fail_next("sendMessage", fault)
                with pytest.raises(error):
                    await client.send_message("u1", "xin chào")
            api.fail_next("sendMessage", "timeout", delay=0.2)  # Zalo gave up on it: retried
            with pytest.raises(Transient):
                await client.send_message("u1", "xin chào")
            impatient = zalo.ZaloClient(TOKEN, api.base_url, timeout=0.2)
            api.fail_next("sendMessage", "timeout", delay=1, deliver=True)  # we gave up, though it got through
            with pytest.raises(Transient, match="time-out"):
                await impatient.send_message("u1", "xin chào")
            await impatient.close()
            stranger = zalo.ZaloClient("wrong:token", api.base_url)
            with pytest.raises(Permanent):
                await stranger.get_me()
            await stranger.close()
            with pytest.raises(Permanent):
                await client.send_message("u1", "x" * 2001)  # refused as Zalo would: never retried
            assert await client.get_update(timeout=1) is None  # 408: nothing came
            api.push_text("u1", "chào")
            update = await client.get_update(timeout=1)
            assert update is not None and update["message"]["text"] == "chào"
            assert [e.reason for e in api.errors] == ["Unauthorized", "Bad request: text is longer than 2000 characters"]
            assert TOKEN not in repr(limited.value)
        finally:
            await client.close()


# ---- the shared scenarios over Zalo ---------------------------------------------------------------


@SQLITE_ONLY
async def test_full_report_typed_as_text_only(settings: Settings) -> None:
    async with running_bot(settings) as (api, service):
        user = ZaloUser(api, 5001)
        welcome = await user.say(f"/start {await invite_code(service.app)}", expect="1. 📝 Báo cáo trẻ cần bảo vệ")
        assert "Chào mừng" in welcome and "Bản Hồ" in welcome
        first = await user.say("1", expect="Họ và tên của trẻ")  # the menu's first option, typed
        assert "✎ /huy" in first  # controls are words to type
        for answer in FULL_REPORT[:-1]:
            await user.say(answer)
        summary = await user.say(FULL_REPORT[-1], expect="Kiểm tra lại")
        for shown in ("Kiểm tra lại", "Nguyễn Văn An", "khoảng 7 tuổi", "Xã Bản Hồ", "500.000\xa0₫"):
            assert shown in summary, shown
        receipt = await user.say("gửi", expect="Mã hồ sơ: LCA-2026-")
        assert "/cuatoi" in receipt
        mine = await user.say("/cuatoi", expect="LCA-2026-")
        assert "Nguyễn Văn An" not in mine
        assert api.errors == [] and api.warnings == []
        sent = [c for c in api.calls if c.method == "sendMessage"]
        assert all(len(c.text) <= 2000 for c in sent)
        assert not any(re.search(r"\b[mcftp]:[a-z_]+", c.text) for c in sent)  # no callback data shown as text


@SQLITE_ONLY
async def test_emergency_alerts_reach_zalo_staff(settings: Settings) -> None:
    staff_ids = ",".join(f"zalo:{s}" for s in STAFF)
    async with running_bot(settings, staff_ids=staff_ids) as (api, service):
        user = ZaloUser(api, 5002)
        await user.say(f"/start {await invite_code(service.app)}", expect="Chào mừng")
        await user.say("/baocao", expect="Họ và tên")
        for answer in FULL_REPORT[:9]:
            await user.say(answer)
        reply = await user.say("có", expect="Ai đang chăm sóc")
        assert "111" in reply and "113" in reply
        for staff in STAFF:
            alert = await ZaloUser(api, staff).wait(0, "KHẨN CẤP", timeout=10)
            assert "LCA-2026-" in alert and "Nguyễn Văn An" not in alert
        async with service.app.db.transaction() as session:
            assert {p.external_id for p in await people.staff(session) if p.channel == "zalo"} == set(STAFF)
        assert api.errors == []


@SQLITE_ONLY
async def test_redelivered_update_is_answered_once(settings: Settings) -> None:
    async with running_bot(settings) as (api, service):
        user = ZaloUser(api, 5003)
        message_id = api.push_text(user.id, "/trogiup")
        await user.wait(0, "Các lệnh")
        await settle(api, service)
        count = len(user.received())
        assert count == 2  # the help, then the menu
        api.redeliver(message_id)
        await settle(api, service)
        assert len(user.received()) == count
        api.push_sticker(user.id)  # not text: the menu again, no error
        await settle(api, service)
        assert len(user.received()) == count + 1 and api.errors == []


@SQLITE_ONLY
@pytest.mark.parametrize(("fault", "http_status"), [(429, False), (500, True), ("proxy", False)], ids=["429", "500", "502-html"])
async def test_storm_every_message_once_in_order(settings: Settings, fault: int | str, http_status: bool) -> None:
    async with running_bot(settings, http_status=http_status) as (api, service):
        users = [ZaloUser(api, 6000 + i) for i in range(4)]
        codes = [await invite_code(service.app) for _ in users]
        api.fail_ratio("sendMessage", 0.3, status=fault, seed=7)

        async def converse(user: ZaloUser, code: str) -> None:
            await user.say(f"/start {code}", expect="Chào mừng", timeout=60)
            await user.say("/baocao", expect="(1/", timeout=60)
            for answer in FULL_REPORT[:5]:
                await user.say(answer, timeout=60)
            await user.wait(0, "(6/", timeout=60)  # the last answer's question, however delayed

        await asyncio.gather(*(converse(u, c) for u, c in zip(users, codes, strict=True)))
        for user in users:
            questions = [int(m.group(1)) for t in user.texts() for m in [re.match(r"\((\d+)/\d+\)", t)] if m]
            assert questions == [1, 2, 3, 4, 5, 6], questions  # each once, in order
            assert max(collections.Counter(user.texts()).values()) == 1
        assert sum(1 for c in api.calls if c.status != 200 and c.method == "sendMessage") > 0 and api.errors == []


@SQLITE_ONLY
async def test_webhook_refuses_without_the_secret(settings: Settings) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/zalo/hook"
    async with running_bot(settings, webhook_url=url, webhook_listen=f"127.0.0.1:{port}", webhook_secret="s3cret-value") as (api, _service):
        assert api.webhook == (url, "s3cret-value")
        update = {"event_name": "message.text.received", "message": {
            "from": {"id": "u5005", "display_name": "A", "is_bot": False}, "chat": {"id": "u5005", "chat_type": "PRIVATE"},
            "text": "/trogiup", "message_id": "aa5005", "date": 1_790_000_000_000}}
        body = {"ok": True, "result": update}
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {zalo.SECRET_HEADER: "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": "s3cret-value"}):
                async with http.post(url, json=body, headers=headers) as response:
                    assert response.status == 403
            assert ZaloUser(api, "u5005").received() == []
            for _ in range(2):  # the second time is a redelivery: answered once
                async with http.post(url, json=body, headers={zalo.SECRET_HEADER: "s3cret-value"}) as response:
                    assert response.status == 200
            await ZaloUser(api, "u5005").wait(0, "Các lệnh")
            assert len(ZaloUser(api, "u5005").received()) == 2
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200 and (await response.json())["database"] == "ok"
        user = ZaloUser(api, 5006)  # what Zalo pushes arrives through the webhook too
        await user.say("/trogiup", expect="Các lệnh")
        assert all(status == 200 for _id, status in api.webhook_deliveries)
        assert not any(c.method == "getUpdates" for c in api.calls) and api.errors == []


@SQLITE_ONLY
async def test_a_second_worker_serves_the_webhook_without_registering_it(settings: Settings) -> None:
    from bot.service import webhook_secret

    port = free_port()
    url = f"http://127.0.0.1:{port}/zalo/hook"
    async with running_bot(settings, webhook_url=url, webhook_listen=f"127.0.0.1:{port}", worker_index=1) as (api, service):
        assert api.webhook is None and not any(c.method == "setWebhook" for c in api.calls)
        secret = webhook_secret(service.settings)  # what worker 0 registered: derived from the token, the same everywhere
        assert len(secret) == 64 and secret == webhook_secret(service.settings.model_copy())
        update = {"event_name": "message.text.received", "message": {
            "from": {"id": "u5012", "display_name": "A", "is_bot": False}, "chat": {"id": "u5012", "chat_type": "PRIVATE"},
            "text": "/trogiup", "message_id": "aa5012", "date": 1_790_000_000_000}}
        async with aiohttp.ClientSession() as http, http.post(url, json={"ok": True, "result": update}, headers={zalo.SECRET_HEADER: secret}) as response:
            assert response.status == 200
        await ZaloUser(api, "u5012").wait(0, "Các lệnh")


@SQLITE_ONLY
async def test_a_text_over_2000_characters_is_split_at_line_breaks(settings: Settings) -> None:
    async with running_bot(settings) as (api, service):
        lines = [f"{i:03d}. LCA-2026-{i:06d} · 24/11/2026 · Xã Bản Hồ · Chờ xem xét" for i in range(120)]
        await service.channel.send(zalo_id(5007), Reply("\n".join(lines)))
        parts = api.texts(zalo_id(5007))
        assert len(parts) >= 3 and all(len(p) <= 2000 for p in parts)
        assert [line for p in parts for line in p.split("\n")] == lines
        assert api.errors == []


# ---- photos and files by URL ------------------------------------------------------------------------


@SQLITE_ONLY
async def test_images_go_as_photos_served_under_the_public_url(settings: Settings) -> None:
    async with running_bot(settings, files=True) as (api, service):
        chat, image = zalo_id(5008), png()
        await service.channel.send(chat, Reply("📊 Biểu đồ\n\n1. Theo tỉnh", image=image))
        await service.channel.send(chat, Reply("📜 Giấy cảm ơn", document=("giay-cam-on.png", image)))
        photos = [c for c in api.sent_to(chat) if c.method == "sendPhoto"]
        assert len(photos) == 2 and all(c.photo_bytes == image for c in photos)  # Zalo fetched them from us
        assert photos[0].params["photo"].startswith(f"{service.settings.public_url}/f/") and photos[0].text == "📊 Biểu đồ\n\n1. Theo tỉnh"
        assert photos[1].params["photo"] == photos[0].params["photo"]  # the same image once, not twice
        assert await service.app.fetch_file(photos[0].params["photo"]) == image  # what a person sends arrives by URL too
        async with aiohttp.ClientSession() as http, http.get(photos[0].params["photo"].rsplit(".", 1)[0] + "x.png") as response:
            assert response.status == 404  # only the token's own URL
        assert api.errors == []


@SQLITE_ONLY
async def test_without_a_public_url_images_become_text(settings: Settings) -> None:
    async with running_bot(settings) as (api, service):
        chat = zalo_id(5009)
        await service.channel.send(chat, Reply("Mã QR chuyển khoản: UH-ABC234", image=png()))
        await service.channel.send(chat, Reply("Danh sách trẻ", document=("danh-sach.xlsx", b"PK\x03\x04data")))
        first, second = api.texts(chat)
        assert first.startswith("Mã QR chuyển khoản: UH-ABC234") and "PUBLIC_URL" in first
        assert second.startswith("Danh sách trẻ") and "danh-sach.xlsx" in second and "Telegram" in second
        assert not any(c.method == "sendPhoto" for c in api.calls) and api.errors == []


@SQLITE_ONLY
async def test_a_workbook_is_offered_as_a_one_time_download(settings: Settings) -> None:
    async with running_bot(settings, files=True) as (api, service):
        chat, workbook = zalo_id(5010), b"PK\x03\x04" + bytes(range(256)) * 40
        await service.channel.send(chat, Reply("📋 Danh sách trẻ (đã xuất)", document=("danh-sach.xlsx", workbook)))
        [text] = api.texts(chat)
        link = re.search(r"(http://\S+/d/[\w-]+)", text).group(1)
        assert text.startswith("📋 Danh sách trẻ (đã xuất)") and "danh-sach.xlsx" in text and "một lần" in text
        async with aiohttp.ClientSession() as http:
            for _ in range(2):  # a link preview (GET) does not use it up
                async with http.get(link) as response:
                    assert response.status == 200 and "danh-sach.xlsx" in await response.text()
            async with http.post(link) as response:
                assert response.status == 200 and await response.read() == workbook
                assert "danh-sach.xlsx" in response.headers["Content-Disposition"]
            for method in (http.post, http.get):
                async with method(link) as response:
                    assert response.status == 410
        async with service.app.db.transaction() as session:
            stored = (await session.exec(select(links.SharedFile))).one()
            assert stored.token_hash not in link and b"PK" not in stored.content.encode()  # hashed token, encrypted content


@SQLITE_ONLY
async def test_donor_pledge_over_zalo_shows_the_qr_as_a_photo(settings: Settings) -> None:
    from tests.test_donor_helpers import code_of, publish, with_bank

    async with running_bot(settings, files=True) as (api, service):
        with_bank(service.app)
        case = await publish(service.app, needs={"education": 1_500_000})
        code = await code_of(service.app, case.id)
        user = ZaloUser(api, 5011)
        async with service.app.db.transaction() as session:
            who = await people.get_or_create(session, "zalo", user.id, user.id)
            await donors.register(session, who, display_name="Nguyễn Văn Bình", language="vi", now=service.app.clock())
        listing = await user.say("/nhucau", expect=code)
        assert "Vàng Thị Mỷ" not in listing
        await user.say(f"/ungho {code}", expect="(1/2)")
        await user.say("tiền")
        await user.say("1,5 triệu")
        summary = await user.say("Chúc cháu học thật giỏi", expect="Kiểm tra lại")
        assert "1.500.000\xa0₫" in summary
        await user.say("gửi", expect="Nội dung chuyển khoản: UH-")  # the photo's caption
        [qr] = [c for c in user.received() if c.method == "sendPhoto"]
        assert qr.photo_bytes is not None and qr.photo_bytes.startswith(b"\x89PNG")
        assert "Số tài khoản: 0011001932418" in "\n".join(user.texts())
        assert api.errors == []


@SQLITE_ONLY
async def test_staff_summary_chart_and_export_over_zalo(settings: Settings) -> None:
    from openpyxl import load_workbook

    from tests.test_staff_helpers import make_case

    async with running_bot(settings, files=True, staff_ids=f"zalo:{STAFF[0]}") as (api, service):
        for _ in range(3):
            await make_case(service.app)
        staff = ZaloUser(api, STAFF[0])
        summary = await staff.say("/tomtat", expect="📊 Tóm tắt")
        assert "Hồ sơ: 3" in summary
        chart_option = next(n for n, label in re.findall(r"^(\d+)\. (.+)$", summary, flags=re.MULTILINE) if "Biểu đồ" in label)
        await staff.say(chart_option, expect="Chọn loại biểu đồ")  # the typed number of the «Biểu đồ» option
        before = len(staff.received())
        await staff.say("/bieudo tinh", expect="Số trẻ theo tỉnh/thành")
        [chart] = [c for c in staff.received()[before:] if c.method == "sendPhoto"]
        assert chart.photo_bytes is not None and chart.photo_bytes.startswith(b"\x89PNG")
        exported = await staff.say("/xuat", expect="/d/")
        link = re.search(r"(http://\S+/d/[\w-]+)", exported).group(1)
        async with aiohttp.ClientSession() as http, http.post(link) as response:
            assert response.status == 200
            book = load_workbook(io.BytesIO(await response.read()))
        assert "Hồ sơ" in book.sheetnames and len(list(book["Hồ sơ"].iter_rows())) == 4
        await staff.say("/nhap", expect="Kênh này chưa nhận được tệp")  # not steps that need a file Zalo cannot send
        assert api.errors == []


# ---- a real process: kill -9 mid-form, SIGTERM ---------------------------------------------------------


def zalo_env(api: FakeZaloAPI, tmp_path: Path) -> dict[str, str]:
    return bot_env(api, tmp_path, "zalo", BOT_TOKEN=TOKEN, STAFF_IDS=f"zalo:{STAFF[0]}")  # type: ignore[arg-type]


async def test_killed_mid_form_resumes_at_the_same_question(tmp_path: Path) -> None:
    async with FakeZaloAPI(token=TOKEN) as api:
        env = zalo_env(api, tmp_path)
        await cli(env, "migrate")
        code = re.search(r"invite code: (\w+)", await cli(env, "invite", "ban ho", "--province", "lao cai")).group(1)
        bot = await start_bot(env)
        user = ZaloUser(api, 7001)
        try:
            await user.say(f"/start {code}", expect="Chào mừng", timeout=30)
            await user.say("/baocao", expect="Họ và tên")
            for answer in FULL_REPORT[:4]:
                await user.say(answer)
            await user.say(FULL_REPORT[4], expect="Thôn")
        finally:
            bot.kill()  # SIGKILL: no goodbye
            await bot.wait()

        bot = await start_bot(env)
        try:
            text = await user.say("/baocao", expect="làm dở", timeout=30)
            assert "Thôn, bản, tổ dân phố" in text
            for answer in FULL_REPORT[5:9]:
                await user.say(answer)
            api.delay("sendMessage", 0.3)  # slow network: the staff alert is still in the outbox at SIGTERM
            api.push_text(user.id, "có")
            await asyncio.sleep(0.2)
        finally:
            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), timeout=60) == 0
        assert any("KHẨN CẤP" in t for t in ZaloUser(api, STAFF[0]).texts()), "the staff alert was lost on shutdown"
        assert any("111" in t for t in user.texts())
        assert api.errors == []


# ---- linking a Zalo account to a Telegram one ------------------------------------------------------------


async def _code_from(chat: Chat) -> str:
    await chat.send("/lienket")
    found = re.search(r"/lienket ([A-Z0-9]{8})", chat.text)
    assert found, chat.text
    return found.group(1)


async def _person(app: App, channel: str, user: str) -> Person:
    async with app.db.transaction() as session:
        person = await people.find(session, channel, user)
        assert person is not None
        session.expunge(person)
        return person


async def test_a_collaborator_links_zalo_and_their_role_follows(app: App, clock: Clock, collaborator: Chat) -> None:
    code = await _code_from(collaborator)
    assert "15 phút" in collaborator.text
    on_zalo = Chat(app, "z-501", channel="zalo")
    await on_zalo.send("/baocao")
    assert "Chỉ cộng tác viên" in on_zalo.text
    await on_zalo.send(f"/lienket {code.lower()}")
    assert "Đã liên kết với tài khoản Telegram" in on_zalo.text and "cộng tác viên, Xã Bản Hồ" in on_zalo.text
    zalo_person, telegram_person = await _person(app, "zalo", "z-501"), await _person(app, "telegram", "501")
    assert (zalo_person.role, zalo_person.commune_code) == ("collaborator", telegram_person.commune_code)
    [notice] = [m for m in await outbox_messages(app) if m.chat_id == "501"]
    assert notice.channel == "telegram" and "Zalo" in notice.payload["text"] and "/lienket huy" in notice.payload["text"]

    await on_zalo.send("/baocao")
    assert "Họ và tên của trẻ" in on_zalo.text
    await on_zalo.send("/huy")
    await on_zalo.send("/lienket")
    assert "đã liên kết với tài khoản Telegram" in on_zalo.text

    again = Chat(app, "z-777", channel="zalo")
    await again.send(f"/lienket {code}")  # used: refused
    assert "không đúng, đã dùng hoặc đã hết hạn" in again.text
    assert (await _person(app, "zalo", "z-777")).role == "guest"
    async with app.db.transaction() as session:
        actions = [e.action for e in await audit.recent(session)]
    assert {"link:code", "link", "link:refused:unknown"} <= set(actions)


async def test_refusals_leave_every_role_as_it_was(app: App, clock: Clock, collaborator: Chat) -> None:
    code = await _code_from(collaborator)
    other_telegram = Chat(app, "502")
    await other_telegram.send(f"/lienket {code}")
    assert "Mã này được tạo trên chính Telegram" in other_telegram.text
    clock.now += links.CODE_LIFETIME + timedelta(seconds=1)
    late = Chat(app, "z-502", channel="zalo")
    await late.send(f"/lienket {code}")
    assert "hết hạn" in late.text
    newer = await _code_from(collaborator)
    assert newer != code
    first, second = Chat(app, "z-503", channel="zalo"), Chat(app, "z-504", channel="zalo")
    await first.send(f"/lienket {newer}")
    assert "Đã liên kết" in first.text
    third = await _code_from(second)
    await collaborator.send(f"/lienket {third}")  # the Telegram account is linked already
    assert "đã liên kết với tài khoản khác" in collaborator.text
    for channel, user, role in (("telegram", "502", "guest"), ("zalo", "z-502", "guest"), ("zalo", "z-504", "guest"), ("telegram", "501", "collaborator")):
        assert (await _person(app, channel, user)).role == role, user


async def test_unlinking_gives_back_the_role_from_before(app: App, collaborator: Chat) -> None:
    code = await _code_from(collaborator)
    on_zalo = Chat(app, "z-601", channel="zalo")
    await on_zalo.send(f"/lienket {code}")
    await collaborator.send("/lienket huy")
    assert "Đã bỏ liên kết với tài khoản Zalo" in collaborator.text
    zalo_person = await _person(app, "zalo", "z-601")
    assert (zalo_person.role, zalo_person.commune_code) == ("guest", None)
    assert (await _person(app, "telegram", "501")).role == "collaborator"
    await on_zalo.send("/lienket huy")
    assert "chưa liên kết" in on_zalo.text
    notices = [m for m in await outbox_messages(app) if m.chat_id == "z-601"]
    assert notices and "Đã bỏ liên kết" in notices[-1].payload["text"]


async def test_a_link_never_lowers_a_role(app: App) -> None:
    async with app.db.transaction() as session:
        await people.set_role(session, "zalo", "z-staff", "staff")
    guest_telegram = Chat(app, "701")
    code = await _code_from(guest_telegram)
    staff_zalo = Chat(app, "z-staff", channel="zalo")
    await staff_zalo.send(f"/lienket {code}")
    assert "Vai trò ở đây: cán bộ" in staff_zalo.text
    assert (await _person(app, "zalo", "z-staff")).role == "staff"
    assert (await _person(app, "telegram", "701")).role == "guest"  # nor raises the one that showed the code
    await staff_zalo.send("/lienket huy")
    assert (await _person(app, "zalo", "z-staff")).role == "staff"


async def test_whoami_gives_the_staff_ids_entry(app: App) -> None:
    on_zalo = Chat(app, "6ede9afa66b88fe6d6a9", channel="zalo")
    await on_zalo.send("/id")
    assert "zalo:6ede9afa66b88fe6d6a9" in on_zalo.text and "STAFF_IDS" in on_zalo.text


async def test_my_cases_lists_the_reports_of_both_accounts(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT, "gửi")
    code = await _code_from(collaborator)
    on_zalo = Chat(app, "z-801", channel="zalo")
    await on_zalo.send(f"/lienket {code}")
    await on_zalo.send("/cuatoi")
    assert "LCA-2026-000001" in on_zalo.text


@SQLITE_ONLY
async def test_linking_over_zalo_end_to_end(settings: Settings) -> None:
    async with running_bot(settings) as (api, service):
        telegram = await Chat.collaborator(service.app, user="901")
        code = await _code_from(telegram)
        user = ZaloUser(api, 9901)
        linked = await user.say(f"/lienket {code}", expect="1. 📝 Báo cáo trẻ cần bảo vệ")  # the collaborator's menu, numbered
        assert "Đã liên kết với tài khoản Telegram" in linked
        await user.say("1", expect="Họ và tên của trẻ")
        assert api.errors == []


@SQLITE_ONLY
async def test_an_answer_delayed_to_the_outbox_is_not_overtaken(settings: Settings) -> None:
    """Zalo fails to take an answer three times: it waits in the outbox. The person, seeing
    nothing, types the next answer; its question must come after the delayed one, not before."""
    async with running_bot(settings, http_status=True) as (api, service):
        user = ZaloUser(api, 6100)
        await user.say(f"/start {await invite_code(service.app)}", expect="Chào mừng")
        await user.say("/baocao", expect="(1/")
        before = len(user.received())
        outbox_free = asyncio.Event()  # the outbox is slow today: it sends once both are handled
        send_from_outbox = service.sender.send

        async def slow(chat: str, reply: Reply) -> None:
            await outbox_free.wait()
            await send_from_outbox(chat, reply)

        service.sender.send = slow
        api.fail_next("sendMessage", 500, count=3)  # the answer's three tries: it goes to the outbox
        api.push_text(user.id, FULL_REPORT[0])
        api.push_text(user.id, FULL_REPORT[1])  # typed before question 2 arrived
        await settle(api, service)
        outbox_free.set()
        await user.wait(before, "(3/", timeout=30)
        await settle(api, service)
        questions = [int(m.group(1)) for t in user.texts()[before:] for m in [re.match(r"\((\d+)/\d+\)", t)] if m]
        assert questions == [2, 3], questions
        assert api.errors == []
