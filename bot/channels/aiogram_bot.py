"""aiogram 3 (BOT_FRAMEWORK=aiogram): a thin adapter over TelegramChannel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram import exceptions as ag
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)

from bot.channels.telegram import Keyboard, TelegramChannel
from bot.delivery import Permanent, RetryLater, Transient

log = logging.getLogger(__name__)


def _markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    rows = [[InlineKeyboardButton(text=label, callback_data=data) for label, data in row] for row in keyboard]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _neutral(exc: ag.TelegramAPIError | ag.TelegramNetworkError) -> Exception:
    """aiogram's errors to the channel-neutral ones of bot.delivery."""
    if isinstance(exc, ag.TelegramRetryAfter):
        return RetryLater(float(exc.retry_after))
    if isinstance(exc, ag.TelegramForbiddenError | ag.TelegramBadRequest | ag.TelegramNotFound | ag.TelegramUnauthorizedError | ag.TelegramMigrateToChat):
        return Permanent(str(exc))
    return Transient(str(exc))


class AiogramClient:
    """The TelegramClient interface on an aiogram Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def call(self, coro: Any) -> Any:
        try:
            return await coro
        except (ag.TelegramAPIError, ag.TelegramNetworkError) as exc:
            if isinstance(exc, ag.TelegramBadRequest) and "not modified" in str(exc).lower():
                return None
            raise _neutral(exc) from exc
        except TimeoutError as exc:
            raise Transient("time-out") from exc

    async def send_text(self, chat: str, text: str, keyboard: Keyboard | None, ask: str | None) -> None:
        markup: Any = _markup(keyboard)
        if markup is None and ask in ("contact", "location"):
            button = KeyboardButton(text="📍", request_location=True) if ask == "location" else KeyboardButton(text="📱", request_contact=True)
            markup = ReplyKeyboardMarkup(keyboard=[[button]], one_time_keyboard=True, resize_keyboard=True)
        await self.call(self.bot.send_message(int(chat), text, reply_markup=markup))

    async def send_photo(self, chat: str, data: bytes, caption: str | None, keyboard: Keyboard | None) -> None:
        await self.call(self.bot.send_photo(int(chat), BufferedInputFile(data, "image.png"), caption=caption, reply_markup=_markup(keyboard)))

    async def send_document(self, chat: str, filename: str, data: bytes, caption: str | None) -> None:
        await self.call(self.bot.send_document(int(chat), BufferedInputFile(data, filename), caption=caption))

    async def edit_text(self, chat: str, message_id: int, text: str, keyboard: Keyboard | None) -> None:
        await self.call(self.bot.edit_message_text(text=text, chat_id=int(chat), message_id=message_id, reply_markup=_markup(keyboard)))

    async def clear_buttons(self, chat: str, message_id: int) -> None:
        await self.call(self.bot.edit_message_reply_markup(chat_id=int(chat), message_id=message_id, reply_markup=None))

    async def answer_callback(self, callback_id: str) -> None:
        await self.call(self.bot.answer_callback_query(callback_id))

    async def set_commands(self, entries: list[tuple[str, str]], language: str | None, chat: str | None) -> None:
        scope: Any = BotCommandScopeChat(chat_id=int(chat)) if chat is not None else BotCommandScopeDefault()
        commands = [BotCommand(command=c, description=d) for c, d in entries]
        await self.call(self.bot.set_my_commands(commands, scope=scope, language_code=language))

    async def download(self, file_id: str) -> bytes:
        file = await self.call(self.bot.get_file(file_id))
        buffer = await self.call(self.bot.download_file(file.file_path))
        return buffer.read()


class AiogramAdapter:
    """Builds the aiogram Bot and Dispatcher, feeds every update to the channel."""

    name = "aiogram"

    def __init__(self, token: str, base_url: str, max_in_flight: int = 256) -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(base_url.rstrip("/")), limit=max_in_flight)
        self.bot = Bot(token, session=session)
        self.dispatcher = Dispatcher()
        self.client = AiogramClient(self.bot)
        self.max_in_flight = max_in_flight
        self.channel: TelegramChannel | None = None
        self._polling: asyncio.Task[None] | None = None

    def attach(self, channel: TelegramChannel) -> None:
        self.channel = channel

        async def on_update(update: Update) -> None:
            assert self.channel is not None
            await self.channel.on_update(update.model_dump(mode="json", exclude_none=True, by_alias=True))

        # An outer middleware on the update observer sees every update before any routing.
        async def middleware(handler: Any, event: Update, data: dict[str, Any]) -> None:
            await on_update(event)

        self.dispatcher.update.outer_middleware(middleware)

    async def start(self) -> None:
        """aiogram needs nothing before polling or the webhook."""

    async def start_polling(self) -> None:
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot, handle_signals=False, close_bot_session=False, polling_timeout=30,
                tasks_concurrency_limit=self.max_in_flight, allowed_updates=["message", "callback_query"],
            )
        )
        await asyncio.sleep(0)

    async def feed(self, data: dict[str, Any]) -> None:
        """Webhook: one update body, through aiogram's own parsing and dispatch."""
        await self.dispatcher.feed_raw_update(self.bot, data)

    async def set_webhook(self, url: str, secret: str | None) -> None:
        await self.client.call(self.bot.set_webhook(url, secret_token=secret, allowed_updates=["message", "callback_query"]))

    async def stop_taking_updates(self) -> None:
        if self._polling is not None:
            with contextlib.suppress(RuntimeError):  # polling had not started yet
                await self.dispatcher.stop_polling()
            await self._polling
            self._polling = None

    async def stop(self) -> None:
        await self.bot.session.close()
