"""The fake Bot API server behaves like Telegram for raw HTTP and for the real PTB and aiogram."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import telegram
from aiogram import Bot as AioBot
from aiogram import Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.types import InlineKeyboardButton as AioButton
from aiogram.types import InlineKeyboardMarkup as AioMarkup
from aiogram.types import Message as AioMessage
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_api import FakeTelegramAPI, utf16_len

TOKEN = "123456:TEST-token_abc"
USER = 555_000_111


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, api: FakeTelegramAPI, method: str,
               **params: Any) -> tuple[int, dict[str, Any]]:
    """POST a JSON body, as a hand-written client would."""
    async with http.post(f"{api.base_url}/bot{TOKEN}/{method}", json=params) as resp:
        return resp.status, await resp.json()


def keyboard(*data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": d.upper(), "callback_data": d} for d in data]]}


# ---------------------------------------------------------------- raw HTTP
async def test_unknown_method_is_404(api: FakeTelegramAPI, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, api, "sendMessageNow", chat_id=1, text="hi")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert api.errors[0].method == "sendMessageNow"


async def test_wrong_token_is_401(api: FakeTelegramAPI, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api.base_url}/bot1:nope/getMe") as resp:
        assert resp.status == 401


async def test_missing_chat_id_is_400_and_recorded(api: FakeTelegramAPI,
                                                   http: aiohttp.ClientSession) -> None:
    status, body = await call(http, api, "sendMessage", text="xin chào")
    assert status == 400
    assert body == {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
    assert [(e.method, e.reason) for e in api.errors] == [("sendMessage", body["description"])]
    assert api.sent == []


async def test_text_length_counts_utf16_units(api: FakeTelegramAPI,
                                              http: aiohttp.ClientSession) -> None:
    assert (await call(http, api, "sendMessage", chat_id=USER, text="a" * 4096))[0] == 200
    status, body = await call(http, api, "sendMessage", chat_id=USER, text="a" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    emoji = "😀" * 2049  # 2049 characters but 4098 UTF-16 code units
    assert utf16_len(emoji) == 4098
    assert (await call(http, api, "sendMessage", chat_id=USER, text=emoji))[0] == 400
    status, body = await call(http, api, "sendMessage", chat_id=USER, text="   ")
    assert body["description"] == "Bad Request: message text is empty"
    assert len(api.errors) == 3 and len(api.sent) == 1


async def test_callback_data_limit_is_64_bytes(api: FakeTelegramAPI,
                                               http: aiohttp.ClientSession) -> None:
    ok = await call(http, api, "sendMessage", chat_id=USER, text="x", reply_markup=keyboard("a" * 64))
    assert ok[0] == 200
    status, body = await call(http, api, "sendMessage", chat_id=USER, text="x",
                              reply_markup=keyboard("a" * 65))
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    # 22 Vietnamese letters "ạ" are 66 bytes in UTF-8.
    assert (await call(http, api, "sendMessage", chat_id=USER, text="x",
                       reply_markup=keyboard("ạ" * 22)))[0] == 400


async def test_types_are_checked_recursively(api: FakeTelegramAPI,
                                             http: aiohttp.ClientSession) -> None:
    status, body = await call(http, api, "sendMessage", chat_id=USER, text="x",
                              disable_notification="maybe")
    assert status == 400 and "disable_notification" in body["description"]
    status, body = await call(http, api, "sendMessage", chat_id=USER, text="x",
                              reply_markup={"inline_keyboard": [[{"callback_data": "a"}]]})
    assert status == 400 and "inline_keyboard[0][0].text" in body["description"]
    status, body = await call(http, api, "sendMessage", chat_id=USER, text="x",
                              reply_markup={"inline_keyboard": [[{"text": "no action"}]]})
    assert status == 400 and "Text buttons are unallowed" in body["description"]
    status, body = await call(http, api, "setMyCommands",
                              commands=[{"command": "start", "description": "Bắt đầu"}],
                              scope={"type": "chat"})
    assert status == 400 and "scope.chat_id" in body["description"]
    assert len(api.errors) == 4
    contact = {"keyboard": [[{"text": "Gửi số điện thoại", "request_contact": True}]],
               "one_time_keyboard": True}
    for markup in (contact, {"remove_keyboard": True}, {"force_reply": True}):
        assert (await call(http, api, "sendMessage", chat_id=USER, text="x",
                           reply_markup=markup))[0] == 200
    assert len(api.errors) == 4


async def test_unknown_fields_only_warn(api: FakeTelegramAPI, http: aiohttp.ClientSession) -> None:
    status, _ = await call(http, api, "sendMessage", chat_id=USER, text="x", colour="red")
    assert status == 200 and not api.errors
    assert [w.reason for w in api.warnings] == ["unknown field 'colour'"]


async def test_form_query_and_multipart_encodings(api: FakeTelegramAPI,
                                                  http: aiohttp.ClientSession) -> None:
    url = f"{api.base_url}/bot{TOKEN}"
    async with http.get(f"{url}/sendMessage", params={"chat_id": str(USER), "text": "q"}) as r:
        assert r.status == 200
    form = {"chat_id": str(USER), "text": "f", "disable_notification": "true",
            "reply_markup": json.dumps(keyboard("yes", "no"))}
    async with http.post(f"{url}/sendMessage", data=form) as r:
        result = (await r.json())["result"]
        assert result["reply_markup"] == keyboard("yes", "no")
        assert result["message_id"] == 2 and result["chat"]["type"] == "private"
    data = aiohttp.FormData()
    data.add_field("chat_id", str(USER))
    data.add_field("caption", "ảnh")
    data.add_field("photo", b"\xff\xd8" * 500, filename="pic.jpg", content_type="image/jpeg")
    async with http.post(f"{url}/sendPhoto", data=data) as r:
        photo = (await r.json())["result"]["photo"]
    upload = api.sent[-1].params["photo"]
    assert (upload.filename, upload.size) == ("pic.jpg", 1000)
    _, body = await call(http, api, "getFile", file_id=photo[-1]["file_id"])
    async with http.get(f"{api.base_url}/file/bot{TOKEN}/{body['result']['file_path']}") as r:
        assert await r.read() == b"\xff\xd8" * 500
    sent = api.sent_to(USER)
    assert [c.text for c in sent] == ["q", "f", "ảnh"]
    assert sent[1].params["disable_notification"] is True and sent[1].chat_id == USER
    assert sent[0].time < sent[1].time < sent[2].time and not api.errors


async def test_get_updates_offset_limit_and_long_poll(api: FakeTelegramAPI,
                                                      http: aiohttp.ClientSession) -> None:
    ids = [api.push_text(USER, f"m{i}") for i in range(3)]
    status, body = await call(http, api, "getUpdates", limit=2)
    assert status == 200
    assert [u["update_id"] for u in body["result"]] == ids[:2]
    _, body = await call(http, api, "getUpdates")  # nothing confirmed yet
    assert len(body["result"]) == 3
    _, body = await call(http, api, "getUpdates", offset=ids[1] + 1)
    assert [u["message"]["text"] for u in body["result"]] == ["m2"]
    assert api.pending_updates == [ids[2]]
    for bad in (0, 101):
        assert (await call(http, api, "getUpdates", limit=bad))[0] == 400
    api.errors.clear()

    started = time.monotonic()
    _, body = await call(http, api, "getUpdates", offset=ids[2] + 1, timeout=1)
    assert body["result"] == [] and 0.9 <= time.monotonic() - started < 2
    assert api.pending_updates == []

    async def later() -> int:
        await asyncio.sleep(0.2)
        return api.push_text(USER, "late")

    started = time.monotonic()
    pushed, (_, body) = await asyncio.gather(
        later(), call(http, api, "getUpdates", offset=ids[2] + 1, timeout=5))
    assert [u["update_id"] for u in body["result"]] == [pushed]
    assert time.monotonic() - started < 1


async def test_allowed_updates_and_clock(http: aiohttp.ClientSession) -> None:
    async with FakeTelegramAPI(token=TOKEN, clock=lambda: 1_795_000_000.7) as api:
        _, body = await call(http, api, "getUpdates", allowed_updates=["callback_query"])
        api.push_text(USER, "filtered out")
        assert api.pending_updates == [] and "dropped" in api.warnings[0].reason
        await call(http, api, "sendMessage", chat_id=USER, text="x", reply_markup=keyboard("k"))
        api.push_callback(USER, "k")
        _, body = await call(http, api, "getUpdates", allowed_updates=[])
        assert body["result"][0]["callback_query"]["message"]["date"] == 1_795_000_000
        api.push_raw({"message_reaction_count": {"chat": {"id": -5, "type": "group"},
                                                 "message_id": 1, "date": 1, "reactions": []}})
        assert len(api.pending_updates) == 1  # excluded by default, like on Telegram


async def test_second_poller_conflicts(api: FakeTelegramAPI, http: aiohttp.ClientSession) -> None:
    first = asyncio.create_task(call(http, api, "getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(call(http, api, "getUpdates", timeout=1))
    status, body = await first
    assert status == 409 and body["description"].startswith("Conflict: terminated by other")
    assert (await second)[0] == 200


async def test_redeliver_ignores_the_confirmation(api: FakeTelegramAPI,
                                                  http: aiohttp.ClientSession) -> None:
    uid = api.push_text(USER, "/start")
    _, body = await call(http, api, "getUpdates")
    assert body["result"][0]["message"]["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 6}]
    _, body = await call(http, api, "getUpdates", offset=uid + 1)
    assert body["result"] == []
    api.redeliver(uid)
    _, body = await call(http, api, "getUpdates", offset=uid + 1)
    assert [u["update_id"] for u in body["result"]] == [uid]
    _, body = await call(http, api, "getUpdates", offset=uid + 1)
    assert body["result"] == [] and api.pending_updates == []


async def test_fail_next_429_and_500(api: FakeTelegramAPI, http: aiohttp.ClientSession) -> None:
    api.fail_next("sendMessage", status=429, retry_after=3, count=2)
    api.fail_next("sendmessage", status=500)
    for _ in range(2):
        status, body = await call(http, api, "sendMessage", chat_id=USER, text="x")
        assert status == 429 and body["parameters"] == {"retry_after": 3}
        assert body["description"] == "Too Many Requests: retry after 3"
    assert (await call(http, api, "sendMessage", chat_id=USER, text="x"))[0] == 500
    assert (await call(http, api, "sendMessage", chat_id=USER, text="x"))[0] == 200
    assert [c.status for c in api.calls] == [429, 429, 500, 200]
    assert len(api.sent) == 1 and not api.errors  # injected failures are not bot errors
    with pytest.raises(ValueError, match="unknown Bot API method"):
        api.fail_next("sendMesage")


async def test_fail_ratio_is_deterministic_and_delay_slows(api: FakeTelegramAPI,
                                                           http: aiohttp.ClientSession) -> None:
    api.fail_ratio("sendChatAction", 0.5, seed=7)
    statuses = [(await call(http, api, "sendChatAction", chat_id=USER, action="typing"))[0]
                for _ in range(20)]
    async with FakeTelegramAPI(token=TOKEN) as other:
        other.fail_ratio("sendChatAction", 0.5, seed=7)
        again = [(await call(http, other, "sendChatAction", chat_id=USER, action="typing"))[0]
                 for _ in range(20)]
    assert statuses == again and 3 < statuses.count(429) < 17
    api.delay("getMe", 0.3)
    started = time.monotonic()
    await call(http, api, "getMe")
    assert time.monotonic() - started >= 0.3


async def test_timeout_fault_can_still_deliver(api: FakeTelegramAPI,
                                               http: aiohttp.ClientSession) -> None:
    api.fail_next("sendMessage", "timeout", delay=0.6, deliver=True)
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(f"{api.base_url}/bot{TOKEN}/sendMessage",
                             json={"chat_id": USER, "text": "lost answer"},
                             timeout=aiohttp.ClientTimeout(total=0.2)):
            pass
    assert api.messages == []
    # The client gave up, but the message still goes out once the delay is over.
    sent = await api.wait_for_sent(1, timeout=3)
    assert sent[0].text == "lost answer"


async def test_edits_and_callback_answers_follow_telegram_rules(
        api: FakeTelegramAPI, http: aiohttp.ClientSession) -> None:
    _, body = await call(http, api, "sendMessage", chat_id=USER, text="Chọn",
                         reply_markup=keyboard("a", "b"))
    mid = body["result"]["message_id"]
    status, body = await call(http, api, "editMessageText", chat_id=USER, message_id=mid,
                              text="Chọn", reply_markup=keyboard("a", "b"))
    assert status == 400 and "message is not modified" in body["description"]
    status, body = await call(http, api, "editMessageText", chat_id=USER, message_id=mid,
                              text="<b>Đã chọn</b>", parse_mode="HTML")
    assert status == 200 and body["result"]["text"] == "Đã chọn"
    assert "reply_markup" not in body["result"]  # editing text without markup drops it
    status, body = await call(http, api, "sendMessage", chat_id=USER, text="a<br>b",
                              parse_mode="HTML")
    assert body["description"] == 'Bad Request: can\'t parse entities: Unsupported start tag "br"'
    status, body = await call(http, api, "sendMessage", chat_id=USER, text="Hạn: 1.5",
                              parse_mode="MarkdownV2")
    assert status == 400 and "Character '.' is reserved" in body["description"]
    status, body = await call(http, api, "editMessageText", chat_id=USER, message_id=999, text="x")
    assert body["description"] == "Bad Request: message to edit not found"
    status, body = await call(http, api, "answerCallbackQuery", callback_query_id="nope")
    assert status == 400
    assert len(api.errors) == 5


async def test_blocked_user_gets_403_without_error(api: FakeTelegramAPI,
                                                   http: aiohttp.ClientSession) -> None:
    api.block(USER)
    status, body = await call(http, api, "sendMessage", chat_id=USER, text="x")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert not api.errors


async def test_generated_objects_match_the_spec(api: FakeTelegramAPI,
                                                http: aiohttp.ClientSession) -> None:
    api.push_text(USER, "/start", first_name="Lan", username="lan_vn")
    api.push_contact(USER, "+84901234567")
    api.push_photo(USER, caption="ảnh")
    api.push_location(USER, 21.03, 105.85)
    await call(http, api, "sendMessage", chat_id=USER, text="x", reply_markup=keyboard("go"))
    api.push_callback(USER, "go")
    with pytest.raises(ValueError, match="with a button"):
        api.push_callback(USER, "missing")
    with pytest.raises(ValueError, match="invalid update"):
        api.push_raw({"message": {"text": "no ids"}})
    _, body = await call(http, api, "getUpdates")
    assert len(body["result"]) == 5
    for update in body["result"]:
        assert api.schema.problem(update, "Update") is None
    _, me = await call(http, api, "getMe")
    assert api.schema.problem(me["result"], "User") is None
    assert me["result"]["id"] == 123456 and me["result"]["username"] == "chungtay_test_bot"
    assert not api.errors


# ---------------------------------------------------------------- python-telegram-bot
# PTB 22 itself reads RetryAfter.retry_after, which warns about its future timedelta type.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_ptb_bot_sends_and_receives(api: FakeTelegramAPI) -> None:
    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Có", callback_data="yes"),
          telegram.InlineKeyboardButton("Không", callback_data="no")]])
    async with telegram.Bot(TOKEN, base_url=f"{api.base_url}/bot") as bot:
        assert bot.username == "chungtay_test_bot"
        msg = await bot.send_message(USER, "<b>Xin chào</b>", parse_mode="HTML",
                                     reply_markup=markup)
        assert msg.text == "Xin chào" and msg.reply_markup == markup
        photo = await bot.send_photo(USER, photo=b"\x89PNG" * 10, caption="ảnh")
        assert photo.photo[-1].width == 1280
        api.push_text(USER, "/start")
        api.push_callback(USER, "yes")
        updates = await bot.get_updates(timeout=1)
        assert updates[0].message.text == "/start"
        assert updates[0].message.from_user.language_code == "vi"
        assert updates[0].message.entities[0].type == "bot_command"
        query = updates[1].callback_query
        assert query.data == "yes" and query.message.message_id == msg.message_id
        assert await query.answer("OK")
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        api.fail_next("sendMessage", 429, retry_after=2)
        # (reading .retry_after warns in PTB 22: int now, timedelta in the next major)
        with pytest.raises(telegram.error.RetryAfter, match="Retry in 2 seconds"):
            await bot.send_message(USER, "again")
    sent = api.sent_to(USER)
    assert sent[0].params["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "no"
    assert sent[1].params["photo"].size == 40
    assert api.pending_updates == [] and not api.errors


async def test_ptb_application_end_to_end(api: FakeTelegramAPI) -> None:
    async def start(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("Chào bạn", reply_markup=telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Tiếp", callback_data="next")]]))

    async def pressed(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"Bạn chọn {update.callback_query.data}")

    app = Application.builder().token(TOKEN).base_url(f"{api.base_url}/bot").build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=1)
        api.push_text(USER, "/start")
        await api.wait_for_sent(1)
        api.push_callback(USER, "next")
        sent = await api.wait_for_sent(2)
        await api.wait_idle()
        await app.updater.stop()
        await app.stop()
    assert [(c.method, c.text) for c in sent] == [
        ("sendMessage", "Chào bạn"), ("editMessageText", "Bạn chọn next")]
    assert "answerCallbackQuery" in [c.method for c in api.sent]
    assert not api.errors


# ---------------------------------------------------------------- aiogram 3
def aio_bot(api: FakeTelegramAPI) -> AioBot:
    server = TelegramAPIServer.from_base(api.base_url)
    return AioBot(TOKEN, session=AiohttpSession(api=server))


async def test_aiogram_bot_sends_and_receives(api: FakeTelegramAPI) -> None:
    bot = aio_bot(api)
    try:
        markup = AioMarkup(inline_keyboard=[[AioButton(text="Có", callback_data="yes")]])
        msg = await bot.send_message(USER, "Xin chào", reply_markup=markup)
        assert msg.message_id == 1
        assert msg.reply_markup.model_dump() == markup.model_dump()
        doc = await bot.send_document(USER, BufferedInputFile(b"%PDF" * 5, filename="a.pdf"))
        assert doc.document.file_name == "a.pdf"
        api.push_text(USER, "chào", language_code="en")
        api.push_callback(USER, "yes")
        updates = await bot.get_updates(timeout=1)
        assert updates[0].message.text == "chào"
        assert updates[0].message.from_user.language_code == "en"
        assert updates[1].callback_query.data == "yes"
        assert updates[1].callback_query.message.message_id == msg.message_id
        await bot.get_updates(offset=updates[-1].update_id + 1)
        api.fail_next("sendMessage", 429, retry_after=4)
        with pytest.raises(TelegramRetryAfter) as exc:
            await bot.send_message(USER, "again")
        assert exc.value.retry_after == 4
        with pytest.raises(TelegramBadRequest, match="message is too long"):
            await bot.send_message(USER, "x" * 5000)
    finally:
        await bot.session.close()
    upload = api.sent[1].params["document"]
    assert (upload.filename, upload.size) == ("a.pdf", 20)
    assert api.sent[0].params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]}
    assert [e.reason for e in api.errors] == ["Bad Request: message is too long"]


async def test_aiogram_dispatcher_end_to_end(api: FakeTelegramAPI) -> None:
    dp = Dispatcher()

    @dp.message(F.text == "/start")
    async def start(message: AioMessage) -> None:
        await message.answer("Chào bạn", reply_markup=AioMarkup(
            inline_keyboard=[[AioButton(text="Tiếp", callback_data="next")]]))

    @dp.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer()
        await query.message.edit_text(f"Bạn chọn {query.data}")

    bot = aio_bot(api)
    polling = asyncio.create_task(dp.start_polling(bot, polling_timeout=1, handle_signals=False))
    try:
        api.push_text(USER, "/start")
        await api.wait_for_sent(1)
        api.push_callback(USER, "next")
        sent = await api.wait_for_sent(2)
        await api.wait_idle()
    finally:
        await dp.stop_polling()
        await polling
    assert [(c.method, c.text) for c in sent] == [
        ("sendMessage", "Chào bạn"), ("editMessageText", "Bạn chọn next")]
    assert not api.errors
