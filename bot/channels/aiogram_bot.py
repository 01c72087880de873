"""aiogram 3 (BOT_FRAMEWORK=aiogram): a thin adapter over TelegramChannel."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from typing import Any

import orjson
from pydantic import BaseModel


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _import_aiogram_lazily() -> None:
    """Import aiogram without building the validators of its ~450 models up front.

    Importing aiogram.types calls `model_rebuild` on every Bot API type, which builds all of their
    pydantic validators: measured 1.5 s of CPU and ~105 MiB of RSS before the first getUpdates,
    for types a bot like this never receives (aiogram issues #1513, #1876). The types are declared
    with `defer_build=True`; only that loop forces them. Here the loop is skipped, and the names
    it passes (the types that each module imports only under TYPE_CHECKING) are added to the
    modules of the models left unbuilt, so pydantic builds a model the first time it is used
    (Update on the first update, ~70 ms), resolving the same names it would have at import.
    A no-op when aiogram is already imported.
    """
    if "aiogram" in sys.modules:
        return
    original = BaseModel.__dict__["model_rebuild"]
    names: dict[str, Any] = {}

    def record(cls: type[BaseModel], *args: Any, _types_namespace: Any = None, **kwargs: Any) -> bool | None:
        if _types_namespace is not None and cls.__module__.startswith("aiogram."):
            names.update(_types_namespace)
            return None
        return original.__func__(cls, *args, _types_namespace=_types_namespace, **kwargs)

    BaseModel.model_rebuild = classmethod(record)
    try:
        import aiogram  # noqa: F401
    finally:
        BaseModel.model_rebuild = original
    unbuilt = {m.__module__ for m in _subclasses(BaseModel) if m.__module__.startswith("aiogram.") and not m.__pydantic_complete__}
    for module in unbuilt:
        namespace = vars(sys.modules[module])
        for name, value in names.items():
            namespace.setdefault(name, value)
    _build_first()


def _build_first() -> None:
    """Message and Update before anything that contains them (~60 ms): the generic responses
    (Response[list[Update]], Response[Message], ...) then reuse their schemas instead of each
    inlining its own copy of the whole Message tree (measured 2.5 MiB less)."""
    from aiogram.types import Message, Update

    Message.model_rebuild()
    Update.model_rebuild()


_import_aiogram_lazily()

from aiogram import Bot  # noqa: E402
from aiogram import exceptions as ag  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.methods import (  # noqa: E402
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    GetUpdates,
    Response,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
)
from aiogram.types import (  # noqa: E402
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

from bot.channels.telegram import ALLOWED_UPDATES, WEBHOOK_CONNECTIONS, Keyboard  # noqa: E402
from bot.delivery import Permanent, RetryLater, Transient  # noqa: E402

log = logging.getLogger(__name__)

# aiogram reads every answer as `Response[<the method's result type>]`, and pydantic keeps such
# parametrised models in a weak cache: with nothing else holding them (the lazy import above builds
# no method up front), the garbage collector dropped them and every answer built its model class
# again, schema and all (measured: a tenth of the bot's CPU under load). These are held for good.
_RESPONSES = tuple(Response[m.__returning__] for m in (
    AnswerCallbackQuery, DeleteWebhook, EditMessageReplyMarkup, EditMessageText, GetFile, GetMe,
    GetUpdates, SendDocument, SendMessage, SendPhoto, SetMyCommands, SetWebhook,
))


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


class AnswerCheckingSession(AiohttpSession):
    """aiogram's session, except that a successful answer the bot never reads (a sent message, an
    edit, a stopped spinner) is checked for `"ok": true`, not validated into a Message: that
    pydantic validation was an eighth of the bot's CPU under load. Errors, and every answer whose
    result is used (getUpdates, getFile, ...), go through aiogram's own checks and exceptions."""

    UNREAD = (SendMessage, EditMessageText, EditMessageReplyMarkup, AnswerCallbackQuery)
    ACCEPTED = Response[bool](ok=True, result=True)

    def check_response(self, bot: Bot, method: Any, status_code: int, content: str) -> Any:
        if isinstance(method, self.UNREAD) and 200 <= status_code < 300:
            try:
                data = self.json_loads(content)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("ok") is True:
                return self.ACCEPTED
        return super().check_response(bot=bot, method=method, status_code=status_code, content=content)


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
    """Builds the aiogram Bot; bot/intake.py polls through it and hands every update to the channel."""

    name = "aiogram"

    def __init__(self, token: str, base_url: str, pool_size: int = 128) -> None:
        session = AnswerCheckingSession(api=TelegramAPIServer.from_base(base_url.rstrip("/")), limit=pool_size,
                                        json_loads=orjson.loads, json_dumps=_json_text)
        self.bot = Bot(token, session=session)
        self.client = AiogramClient(self.bot)

    async def start(self) -> None:
        """aiogram needs nothing before polling or the webhook."""

    async def fetch_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """One getUpdates (it confirms every update below `offset`), as Bot API dicts."""
        updates = await self.client.call(self.bot.get_updates(
            offset=offset, timeout=timeout, limit=100, allowed_updates=ALLOWED_UPDATES, request_timeout=timeout + 10))
        return [u.model_dump(mode="json", exclude_none=True, by_alias=True) for u in updates]

    def parse(self, data: dict[str, Any]) -> dict[str, Any]:
        """A webhook body through aiogram's own model (what polling would have given)."""
        return Update.model_validate(data, context={"bot": self.bot}).model_dump(mode="json", exclude_none=True, by_alias=True)

    async def set_webhook(self, url: str, secret: str | None) -> None:
        await self.client.call(self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, max_connections=WEBHOOK_CONNECTIONS))

    async def stop(self) -> None:
        await self.bot.session.close()
