"""python-telegram-bot (BOT_FRAMEWORK=ptb): a thin adapter over TelegramChannel.

It ships an aiohttp transport (AiohttpRequest): PTB's default httpx transport is the bottleneck
of a busy bot (measured: about 590 against 2,170 echo updates/s on this class of machine).
getUpdates and the calls every answer makes (sendMessage, editMessageText, answerCallbackQuery)
go through PTB's request layer and error handling with Bot API JSON, without PTB objects built
from the answers (PTBClient.api); files and command menus use PTB's Bot methods.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import aiohttp
import orjson
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardMarkup,
)
from telegram import error as tg
from telegram.request import BaseRequest, RequestData

from bot.channels.telegram import ALLOWED_UPDATES, WEBHOOK_CONNECTIONS, Keyboard
from bot.delivery import Permanent, RetryLater, Transient

log = logging.getLogger(__name__)


class AiohttpRequest(BaseRequest):
    """PTB's BaseRequest on aiohttp: one pooled session; form or multipart bodies as PTB gives
    them, a JSON body for the calls PTBClient.api builds itself."""

    def __init__(self, pool_size: int = 128, read_timeout: float = 20.0, connect_timeout: float = 10.0) -> None:
        self._pool_size, self._read_timeout, self._connect_timeout = pool_size, read_timeout, connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    @staticmethod
    def parse_json_payload(payload: bytes) -> Any:
        """Every answer is parsed here: orjson, and the text never logged (PTB's own logs the
        whole body of a bad answer, which can hold a person's message)."""
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise tg.TelegramError("Invalid server response") from exc

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
        timeout = _timeout(connect, read)
        body: Any = None
        headers: dict[str, str] | None = None
        if isinstance(request_data, PlainParameters):
            body, headers = request_data.json_body, JSON_HEADERS
        elif request_data is not None:
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
            async with self._session.request(method, url, data=body, headers=headers, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise tg.TimedOut from exc
        except aiohttp.ClientError as exc:
            raise tg.NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


@functools.lru_cache(maxsize=16)
def _timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


@dataclass(frozen=True, slots=True)
class PlainParameters:
    """The part of PTB's RequestData that AiohttpRequest.do_request reads, for calls whose
    parameters are built here as Bot API JSON (see PTBClient.api): sent as one JSON body."""

    json_body: bytes
    json_parameters: dict[str, str] = field(default_factory=dict)
    contains_files: bool = False
    multipart_data: dict[str, Any] = field(default_factory=dict)


JSON_HEADERS = {"Content-Type": "application/json"}


def _keyboard_json(keyboard: Keyboard | None, ask: str | None = None) -> dict[str, Any] | None:
    """Bot API reply_markup: inline buttons, or one button that shares a contact or location."""
    if keyboard:
        return {"inline_keyboard": [[{"text": label, "callback_data": data} for label, data in row] for row in keyboard]}
    if ask in ("contact", "location"):
        button = {"text": "📍", "request_location": True} if ask == "location" else {"text": "📱", "request_contact": True}
        return {"keyboard": [[button]], "one_time_keyboard": True, "resize_keyboard": True}
    return None


def _markup(bot: Bot, keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """The same buttons as a PTB object, for the calls made through PTB's Bot methods."""
    return InlineKeyboardMarkup.de_json(_keyboard_json(keyboard), bot) if keyboard else None


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

    def __init__(self, bot: Bot, request: BaseRequest, updates_request: BaseRequest) -> None:
        self.bot, self.request, self.updates_request = bot, request, updates_request

    async def api(self, method: str, request: BaseRequest | None = None, read_timeout: float | None = None, **params: Any) -> Any:
        """A Bot API call whose answer is only checked, through PTB's request layer and its errors
        (BaseRequest.post), the answer left as JSON. Under load, turning every sendMessage answer
        into a Message object and every update into an Update and back into a dict took a fifth
        of the bot's CPU; the calls that need PTB's objects (files, command menus) use them."""
        body = orjson.dumps({k: v for k, v in params.items() if v is not None})
        timeouts: dict[str, Any] = {} if read_timeout is None else {"read_timeout": read_timeout}
        post = (request or self.request).post(f"{self.bot.base_url}/{method}", cast(RequestData, PlainParameters(body)), **timeouts)
        return await self.call(post)

    async def call(self, coro: Any) -> Any:
        try:
            return await coro
        except tg.TelegramError as exc:
            if isinstance(exc, tg.BadRequest) and "not modified" in str(exc).lower():
                return None
            raise _neutral(exc) from exc

    async def send_text(self, chat: str, text: str, keyboard: Keyboard | None, ask: str | None) -> None:
        await self.api("sendMessage", chat_id=int(chat), text=text, reply_markup=_keyboard_json(keyboard, ask))

    async def send_photo(self, chat: str, data: bytes, caption: str | None, keyboard: Keyboard | None) -> None:
        await self.call(self.bot.send_photo(int(chat), data, caption=caption, reply_markup=_markup(self.bot, keyboard)))

    async def send_document(self, chat: str, filename: str, data: bytes, caption: str | None) -> None:
        await self.call(self.bot.send_document(int(chat), data, filename=filename, caption=caption))

    async def edit_text(self, chat: str, message_id: int, text: str, keyboard: Keyboard | None) -> None:
        await self.api("editMessageText", chat_id=int(chat), message_id=message_id, text=text, reply_markup=_keyboard_json(keyboard))

    async def clear_buttons(self, chat: str, message_id: int) -> None:
        await self.api("editMessageReplyMarkup", chat_id=int(chat), message_id=message_id)

    async def answer_callback(self, callback_id: str) -> None:
        await self.api("answerCallbackQuery", callback_query_id=callback_id)

    async def set_commands(self, entries: list[tuple[str, str]], language: str | None, chat: str | None) -> None:
        scope = BotCommandScopeChat(int(chat)) if chat is not None else BotCommandScopeDefault()
        await self.call(self.bot.set_my_commands([BotCommand(c, d) for c, d in entries], scope=scope, language_code=language))

    async def download(self, file_id: str) -> bytes:
        file = await self.call(self.bot.get_file(file_id))
        return bytes(await self.call(file.download_as_bytearray()))


class PTBAdapter:
    """Builds the PTB Bot on the aiohttp transport; bot/intake.py polls through it and hands every
    update to the channel. PTB's Application and Updater are not used: the Updater confirms updates
    before they are handled, and the intake keeps them first (see there)."""

    name = "ptb"

    def __init__(self, token: str, base_url: str, pool_size: int = 128) -> None:
        root = base_url.rstrip("/")
        request, updates_request = AiohttpRequest(pool_size=pool_size), AiohttpRequest(pool_size=2)
        self.bot = Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot", request=request, get_updates_request=updates_request)
        self.client = PTBClient(self.bot, request, updates_request)

    async def start(self) -> None:
        await self.bot.initialize()

    async def fetch_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """One getUpdates (it confirms every update below `offset`), as Bot API dicts."""
        return list(await self.client.api("getUpdates", self.client.updates_request, read_timeout=timeout + 10,
                                          offset=offset, timeout=timeout, limit=100, allowed_updates=ALLOWED_UPDATES))

    def parse(self, data: dict[str, Any]) -> dict[str, Any]:
        """A webhook body as it came, like a polled update (fetch_updates): Bot API JSON."""
        if not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
        return data

    async def set_webhook(self, url: str, secret: str | None) -> None:
        await self.client.call(self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, max_connections=WEBHOOK_CONNECTIONS))

    async def stop(self) -> None:
        await self.bot.shutdown()
