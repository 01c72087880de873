"""python-telegram-bot (BOT_FRAMEWORK=ptb): a thin adapter over TelegramChannel.

It ships an aiohttp transport (AiohttpRequest): PTB's default httpx transport is the bottleneck
of a busy bot (measured: about 590 against 2,170 echo updates/s on this class of machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import aiohttp
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram import error as tg
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import BaseRequest, RequestData

from bot.channels.telegram import Keyboard, TelegramChannel
from bot.delivery import Permanent, RetryLater, Transient

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 128  # updates handled at once (and as many more queued)


class AiohttpRequest(BaseRequest):
    """PTB's BaseRequest on aiohttp: one pooled session, form or multipart bodies as PTB gives them."""

    def __init__(self, pool_size: int = 128, read_timeout: float = 20.0, connect_timeout: float = 10.0) -> None:
        self._pool_size, self._read_timeout, self._connect_timeout = pool_size, read_timeout, connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = self._read_timeout if isinstance(read_timeout, type(BaseRequest.DEFAULT_NONE)) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, type(BaseRequest.DEFAULT_NONE)) else connect_timeout
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        body: Any = None
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData()
                for key, value in request_data.json_parameters.items():
                    form.add_field(key, value)
                for key, (filename, content, mimetype) in request_data.multipart_data.items():
                    form.add_field(key, content, filename=filename or key, content_type=mimetype)
                body = form
            else:
                body = request_data.json_parameters
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise tg.TimedOut from exc
        except aiohttp.ClientError as exc:
            raise tg.NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in keyboard])


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _neutral(exc: tg.TelegramError) -> Exception:
    """PTB's errors to the channel-neutral ones of bot.delivery."""
    if isinstance(exc, tg.RetryAfter):
        return RetryLater(_seconds(exc._retry_after))  # the public property warns in PTB 22
    if isinstance(exc, tg.Forbidden | tg.BadRequest | tg.InvalidToken | tg.ChatMigrated):
        return Permanent(str(exc))
    return Transient(str(exc))


class PTBClient:
    """The TelegramClient interface on a PTB Bot."""

    def __init__(self, application: Application) -> None:
        self.bot = application.bot

    async def call(self, coro: Any) -> Any:
        try:
            return await coro
        except tg.TelegramError as exc:
            if isinstance(exc, tg.BadRequest) and "not modified" in str(exc).lower():
                return None
            raise _neutral(exc) from exc

    async def send_text(self, chat: str, text: str, keyboard: Keyboard | None, ask: str | None) -> None:
        markup: Any = _markup(keyboard)
        if markup is None and ask in ("contact", "location"):
            button = KeyboardButton("📍", request_location=True) if ask == "location" else KeyboardButton("📱", request_contact=True)
            markup = ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)
        await self.call(self.bot.send_message(int(chat), text, reply_markup=markup))

    async def send_photo(self, chat: str, data: bytes, caption: str | None, keyboard: Keyboard | None) -> None:
        await self.call(self.bot.send_photo(int(chat), data, caption=caption, reply_markup=_markup(keyboard)))

    async def send_document(self, chat: str, filename: str, data: bytes, caption: str | None) -> None:
        await self.call(self.bot.send_document(int(chat), data, filename=filename, caption=caption))

    async def edit_text(self, chat: str, message_id: int, text: str, keyboard: Keyboard | None) -> None:
        await self.call(self.bot.edit_message_text(text, chat_id=int(chat), message_id=message_id, reply_markup=_markup(keyboard)))

    async def clear_buttons(self, chat: str, message_id: int) -> None:
        await self.call(self.bot.edit_message_reply_markup(chat_id=int(chat), message_id=message_id, reply_markup=None))

    async def answer_callback(self, callback_id: str) -> None:
        await self.call(self.bot.answer_callback_query(callback_id))

    async def set_commands(self, entries: list[tuple[str, str]], language: str | None, chat: str | None) -> None:
        scope = BotCommandScopeChat(int(chat)) if chat is not None else BotCommandScopeDefault()
        await self.call(self.bot.set_my_commands([BotCommand(c, d) for c, d in entries], scope=scope, language_code=language))

    async def download(self, file_id: str) -> bytes:
        file = await self.call(self.bot.get_file(file_id))
        return bytes(await self.call(file.download_as_bytearray()))


class PTBAdapter:
    """Builds the PTB Application, feeds every update to the channel, runs polling or webhook.

    At most `max_in_flight` updates are handled at once, and as many wait in the update queue.
    PTB's own concurrent_updates bounds only how many handlers run: it takes every update off
    the queue at once and parks each in a task, so under load all of them sit in memory. Here PTB
    hands updates over one by one and the handover waits for a free slot; a full queue then holds
    the next getUpdates (or a webhook request) until the bot catches up.
    """

    name = "ptb"

    def __init__(self, token: str, base_url: str, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.application = _build(token, base_url, max_in_flight)
        self.client = PTBClient(self.application)
        self.channel: TelegramChannel | None = None
        self._slots = asyncio.Semaphore(max_in_flight)
        self._handling: set[asyncio.Task[None]] = set()
        self._taken = 0  # handed over by PTB and not yet handled

    def attach(self, channel: TelegramChannel) -> None:
        self.channel = channel

        async def on_update(update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
            if not isinstance(update, Update):
                return
            data = update.to_dict()  # the task keeps this dict, not PTB's object graph
            self._taken += 1
            try:
                await self._slots.acquire()
            except BaseException:
                self._taken -= 1
                raise
            task = asyncio.create_task(self._handle(data))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)

        self.application.add_handler(TypeHandler(Update, on_update))

    async def _handle(self, data: dict[str, Any]) -> None:
        assert self.channel is not None
        try:
            await self.channel.on_update(data)
        except Exception:
            log.exception("update %s not handled", data.get("update_id"))
        finally:
            self._slots.release()
            self._taken -= 1

    async def _handled_all(self) -> None:
        """Until every update PTB has queued is handled: a stopping bot finishes what it took."""
        while self._taken or self.application.update_queue.qsize():
            await asyncio.sleep(0.02)

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()

    async def start_polling(self) -> None:
        assert self.application.updater is not None
        await self.application.updater.start_polling(timeout=30, drop_pending_updates=False, allowed_updates=["message", "callback_query"])

    async def feed(self, data: dict[str, Any]) -> None:
        """Webhook: one update body, through PTB's own parsing and dispatch (waits while the queue is full)."""
        update = Update.de_json(data, self.application.bot)
        await self.application.update_queue.put(update)

    async def set_webhook(self, url: str, secret: str | None) -> None:
        await self.client.call(self.application.bot.set_webhook(url, secret_token=secret, allowed_updates=["message", "callback_query"]))

    async def stop_taking_updates(self, grace: float = 20.0) -> None:
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._handled_all(), timeout=grace)

    async def stop(self) -> None:
        if self.application.running:
            await self.application.stop()
        if self._handling:
            await asyncio.wait(set(self._handling))
        await self.application.shutdown()


def _build(token: str, base_url: str, max_in_flight: int) -> Application:
    root = base_url.rstrip("/")
    return (
        Application.builder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .request(AiohttpRequest(pool_size=max_in_flight))
        .get_updates_request(AiohttpRequest(pool_size=2, read_timeout=40))
        .concurrent_updates(False)  # PTB hands over one at a time; PTBAdapter runs them concurrently
        .update_queue(asyncio.Queue(maxsize=max_in_flight))  # backpressure: bound what is in memory
        .build()
    )
