"""The same conversations over python-telegram-bot and aiogram, against a Bot API on loopback
that validates every request against the published Bot API (tests/fakes/telegram_api.py)."""

from __future__ import annotations

import asyncio
import collections
import re

import aiohttp
import pytest

from bot.settings import Settings
from storage import people
from tests.support.telegram import TOKEN, TelegramUser, running_bot, settle
from tests.test_report_scenarios import FULL_REPORT

pytestmark = pytest.mark.parametrize("framework", ["ptb", "aiogram"])


@pytest.fixture
def database_url(tmp_path) -> str:  # the channel tests run on SQLite; the core suite covers PostgreSQL
    return f"sqlite+aiosqlite:///{tmp_path / 'telegram.db'}"


async def invite_code(service) -> str:
    async with service.app.db.transaction() as session:
        invite = await people.create_invite(session, 15, _ban_ho(), now=service.app.clock())
    return invite.code


def _ban_ho() -> int:
    from conversations.parsing import places

    return places.search_wards(15, "Bản Hồ")[0].code


async def test_full_report_with_taps_and_typing(settings: Settings, framework: str) -> None:
    async with running_bot(settings, framework) as (api, service):
        user = TelegramUser(api, 5001)
        await user.say(f"/start {await invite_code(service)}", expect="Chào mừng")
        await user.tap("m:baocao", expect="Họ và tên của trẻ")
        await user.say("Nguyễn Văn An", expect="Giới tính")
        await user.tap("c:male", expect="Ngày sinh")
        await user.say("12/3/2018", expect="tỉnh/thành")
        await user.say("lao cai", expect="Xã/phường")
        await user.say("ban ho", expect="Thôn")
        await user.say("Thôn Bản Dền", expect="đang ở đâu")
        await user.say("ở nhà bà", expect="Hoàn cảnh")
        before = len(user.received())
        await user.tap("t:a", expect="Đã chọn: 1 mục")
        edited = user.received()[-1]
        assert len(user.received()) == before + 1 and edited.method == "editMessageText"  # edited in place
        assert "✅ Mồ côi cả cha và mẹ" in [b["text"] for b in edited.buttons]
        await user.tap("t:d", expect="Đã chọn: 2 mục")
        await user.tap("c:done", expect="Mô tả")
        await user.say("Bố mẹ mất, bà già yếu", expect="nguy hiểm")
        await user.tap("c:no", expect="Ai đang chăm sóc")
        await user.say("Lò Thị Mai", expect="là gì của trẻ")
        await user.tap("c:grandparent", expect="diện nào")
        await user.say("1", expect="Số điện thoại")
        await user.tap("f:skip", expect="cần được hỗ trợ")
        await user.say("1", expect="Ước tính số tiền")
        await user.say("500k", expect="ảnh")
        await user.tap("c:no", expect="nhà hảo tâm")
        await user.say("1", expect="Kiểm tra lại")
        receipt = await user.tap("f:submit", expect="Mã hồ sơ")
        assert "LCA-2026-" in receipt or re.search(r"LCA-\d{4}-000001", receipt)
        assert api.errors == []
        # A pressed menu loses its buttons, so an old button cannot be pressed twice.
        assert any(c.method == "editMessageReplyMarkup" for c in api.sent)


async def test_emergency_alerts_reach_staff_through_the_outbox(settings: Settings, framework: str) -> None:
    async with running_bot(settings, framework) as (api, service):
        user = TelegramUser(api, 5002)
        await user.say(f"/start {await invite_code(service)}", expect="Chào mừng")
        await user.say("/baocao", expect="Họ và tên")
        for answer in FULL_REPORT[:9]:
            await user.say(answer)
        reply = await user.say("có", expect="Ai đang chăm sóc")
        assert "111" in reply and "113" in reply
        for staff_id in (9001, 9002):
            alert = await TelegramUser(api, staff_id)._await(0, "KHẨN CẤP", timeout=10)
            assert "LCA-2026-" in alert and "Nguyễn Văn An" not in alert
        assert api.errors == []


async def test_redelivered_update_is_answered_once(settings: Settings, framework: str) -> None:
    async with running_bot(settings, framework) as (api, service):
        user = TelegramUser(api, 5003)
        update_id = api.push_text(5003, "/trogiup")
        await user._await(0, "Các lệnh", timeout=10)
        await settle(api, service)
        count = len(user.received())
        assert count == 2  # the help, then the menu
        api.redeliver(update_id)
        await settle(api, service)
        assert len(user.received()) == count


async def test_forged_button_gets_a_polite_answer(settings: Settings, framework: str) -> None:
    async with running_bot(settings, framework) as (api, _service):
        user = TelegramUser(api, 5004)
        await user.say("/start", expect="Chung Tay")
        before = len(user.received())
        api.push_callback(5004, "x:someone-elses-case:HN-2026-000001", check=False)
        text = await user._await(before, "không còn dùng được", timeout=10)
        assert "HN-2026" not in text and api.errors == []


async def test_429_storm_every_message_once_in_order(settings: Settings, framework: str) -> None:
    async with running_bot(settings, framework) as (api, service):
        users = [TelegramUser(api, 6000 + i) for i in range(4)]
        codes = [await invite_code(service) for _ in users]
        api.fail_ratio("sendMessage", 0.3, status=429, retry_after=1, seed=7)

        async def converse(user: TelegramUser, code: str) -> None:
            await user.say(f"/start {code}", expect="Chào mừng", timeout=60)
            await user.say("/baocao", expect="(1/", timeout=60)
            for answer in FULL_REPORT[:5]:
                await user.say(answer, timeout=60)

        await asyncio.gather(*(converse(u, c) for u, c in zip(users, codes, strict=True)))
        for user in users:
            questions = [int(m.group(1)) for t in user.texts() for m in [re.match(r"\((\d+)/\d+\)", t)] if m]
            assert questions == [1, 2, 3, 4, 5, 6], questions  # each once, in order
            counts = collections.Counter(user.texts())
            assert max(counts.values()) == 1
        assert sum(1 for c in api.calls if c.status == 429) > 0 and api.errors == []


async def test_faults_on_a_tenth_of_all_calls_lose_and_repeat_nothing(settings: Settings, framework: str) -> None:
    """A whole report by four people while a tenth of every kind of call fails: 429 with
    retry_after on sends, 500 on getUpdates and on answering a tap, time-outs (504 after a wait)
    on clearing a pressed menu."""
    async with running_bot(settings, framework) as (api, service):
        users = [TelegramUser(api, 6100 + i) for i in range(4)]
        codes = [await invite_code(service) for _ in users]
        api.fail_ratio("sendMessage", 0.1, status=429, retry_after=1, seed=11)
        api.fail_ratio("getUpdates", 0.1, status=500, seed=12)
        api.fail_ratio("answerCallbackQuery", 0.1, status=500, seed=13)
        api.fail_ratio("editMessageReplyMarkup", 0.1, status="timeout", delay=1.0, seed=14)

        async def converse(user: TelegramUser, code: str) -> None:
            await user.say(f"/start {code}", expect="Chọn việc cần làm", timeout=60)
            await user.tap("m:baocao", expect="(1/", timeout=60)
            for answer in FULL_REPORT:
                await user.say(answer, timeout=60)
            await user._await(0, "Kiểm tra lại", timeout=60)
            await user.say("gửi", expect="Mã hồ sơ", timeout=60)

        await asyncio.gather(*(converse(u, c) for u, c in zip(users, codes, strict=True)))
        for user in users:
            questions = [int(m.group(1)) for t in user.texts() for m in [re.match(r"\((\d+)/\d+\)", t)] if m]
            assert questions == list(range(1, len(FULL_REPORT) + 1)), questions  # each once, in order
            assert max(collections.Counter(user.texts()).values()) == 1
            assert sum("Mã hồ sơ" in t for t in user.texts()) == 1
        failed = collections.Counter(c.method for c in api.calls if c.status != 200)
        assert {"sendMessage", "getUpdates"} <= failed.keys(), failed
        assert api.errors == [] and not any(t.done() for t in service.tasks)  # the bot is still running


async def test_webhook_refuses_without_the_secret(settings: Settings, framework: str, unused_tcp_port: int) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/tg/hook"
    async with running_bot(settings, framework, webhook_url=url, webhook_listen=f"127.0.0.1:{unused_tcp_port}", webhook_secret="s3cret-value") as (api, _service):
        update = {"update_id": 77, "message": {"message_id": 1, "date": 1_790_000_000, "text": "/trogiup",
                  "chat": {"id": 5005, "type": "private", "first_name": "A"},
                  "from": {"id": 5005, "is_bot": False, "first_name": "A", "language_code": "vi"},
                  "entities": [{"type": "bot_command", "offset": 0, "length": 8}]}}
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 403
            assert TelegramUser(api, 5005).received() == []
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-value"}) as response:
                assert response.status == 200
            await TelegramUser(api, 5005)._await(0, "Các lệnh", timeout=10)
            async with http.get(f"http://127.0.0.1:{unused_tcp_port}/healthz") as response:
                assert response.status == 200 and (await response.json())["database"] == "ok"
        assert any(c.method == "setWebhook" and c.params.get("secret_token") == "s3cret-value" for c in api.calls)
        await TelegramUser(api, 5006).say("/trogiup", expect="Các lệnh")  # Telegram posts it, with the secret
        assert TOKEN not in url


async def test_command_menus_are_published_per_language_and_for_staff(settings: Settings, framework: str) -> None:
    async with running_bot(settings, framework) as (api, _service):
        calls = [c for c in api.calls if c.method == "setMyCommands"]
        by_scope = {(c.params.get("language_code"), (c.params.get("scope") or {}).get("type"), (c.params.get("scope") or {}).get("chat_id")): c for c in calls}
        vi = by_scope[(None, "default", None)]
        assert {"baocao", "trogiup"} <= {e["command"] for e in vi.params["commands"]}
        assert any("Báo cáo" in e["description"] for e in vi.params["commands"])
        assert ("en", "default", None) in by_scope
        assert (None, "chat", 9001) in by_scope and (None, "chat", 9002) in by_scope


async def test_a_question_asking_for_a_place_or_number_shows_the_share_button(settings: Settings, framework: str) -> None:
    from bot.core import Reply

    async with running_bot(settings, framework) as (api, service):
        await TelegramUser(api, 5009).say("/start", expect="Chung Tay")  # the chat exists
        await service.channel.send("5009", Reply("Trẻ đang ở đâu?", ask="location"))
        await service.channel.send("5009", Reply("Số điện thoại?", ask="contact"))
        location, contact = api.sent_to(5009)[-2:]
        assert location.params["reply_markup"]["keyboard"] == [[{"text": "📍", "request_location": True}]]
        assert contact.params["reply_markup"]["keyboard"] == [[{"text": "📱", "request_contact": True}]]
        assert contact.params["reply_markup"]["one_time_keyboard"] is True and api.errors == []


async def test_a_photo_carries_its_buttons(settings: Settings, framework: str) -> None:
    from bot.core import Button, Reply

    async with running_bot(settings, framework) as (api, service):
        await TelegramUser(api, 5010).say("/start", expect="Chung Tay")
        await service.channel.send("5010", Reply("Mã QR", image=b"\x89PNG\r\n\x1a\nqr", buttons=((Button("✅ Đã chuyển", "m:da"),),)))
        photo = api.sent_to(5010)[-1]
        assert photo.method == "sendPhoto" and photo.params["caption"] == "Mã QR"
        assert photo.params["reply_markup"] == {"inline_keyboard": [[{"text": "✅ Đã chuyển", "callback_data": "m:da"}]]}
        assert api.errors == []
