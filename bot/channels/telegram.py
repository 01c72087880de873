"""Telegram, independent of the library: updates in, API actions out.

Both adapters (python-telegram-bot in ptb_bot.py, aiogram in aiogram_bot.py) hand raw update
dicts to TelegramChannel.on_update and execute the actions it plans through a small client
interface. So the two cannot behave differently: everything that decides lives here or in
the core; the adapters only translate calls and errors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from bot import commands, i18n
from bot.core import Event, Reply
from bot.delivery import ChatTurns, DeliveryError, InOrder, Permanent, split_text

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

ALLOWED_UPDATES = ["message", "callback_query"]  # what getUpdates and the webhook are asked for
# Webhook requests Telegram keeps open at once (1-100, default 40): each is answered only once its
# update is handled (bot/intake.py), so this is how many updates the workers handle together.
WEBHOOK_CONNECTIONS = 100

Keyboard = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)


@dataclass(frozen=True, slots=True)
class Action:
    kind: Literal["send_text", "send_photo", "send_document", "edit_text", "clear_buttons", "answer_callback"]
    chat: str = ""
    text: str | None = None
    keyboard: Keyboard | None = None
    ask: Literal["contact", "location"] | None = None
    data: bytes | None = None
    filename: str | None = None
    message_id: int | None = None
    callback_id: str | None = None


class TelegramClient(Protocol):
    """What an adapter implements with its library. Failures raise bot.delivery errors."""

    async def send_text(self, chat: str, text: str, keyboard: Keyboard | None, ask: str | None) -> None: ...
    async def send_photo(self, chat: str, data: bytes, caption: str | None, keyboard: Keyboard | None) -> None: ...
    async def send_document(self, chat: str, filename: str, data: bytes, caption: str | None) -> None: ...
    async def edit_text(self, chat: str, message_id: int, text: str, keyboard: Keyboard | None) -> None: ...
    async def clear_buttons(self, chat: str, message_id: int) -> None: ...
    async def answer_callback(self, callback_id: str) -> None: ...
    async def set_commands(self, entries: list[tuple[str, str]], language: str | None, chat: str | None) -> None: ...
    async def download(self, file_id: str) -> bytes: ...


# ---- updates in ---------------------------------------------------------------------------


def event_from_update(update: dict[str, Any]) -> Event | None:
    """A Bot API update (as JSON) to an Event. Private chats only; anything else is ignored."""
    update_id = str(update["update_id"])
    if "callback_query" in update:
        query = update["callback_query"]
        user = query.get("from") or {}
        message = query.get("message") or {}
        chat = (message.get("chat") or {}).get("id", user.get("id"))
        if not query.get("data") or user.get("id") is None:
            return None
        return Event(CHANNEL, str(user["id"]), str(chat), locale=user.get("language_code"), update=update_id,
                     button=str(query["data"])[:64], name=_name(user))
    message = update.get("message")
    if not message or (message.get("chat") or {}).get("type") != "private":
        return None
    user = message.get("from") or {}
    common: dict[str, Any] = {"locale": user.get("language_code"), "update": update_id, "name": _name(user)}
    user_id, chat_id = str(user.get("id", message["chat"]["id"])), str(message["chat"]["id"])
    if "text" in message:
        return Event.from_text(CHANNEL, user_id, chat_id, message["text"], **common)
    if "contact" in message:
        return Event(CHANNEL, user_id, chat_id, contact=message["contact"]["phone_number"], **common)
    if message.get("photo"):
        return Event(CHANNEL, user_id, chat_id, photo=message["photo"][-1]["file_id"], **common)
    if "document" in message:
        document = message["document"]
        attached = (document["file_id"], document.get("file_name") or "file")
        caption = (message.get("caption") or "").strip()
        if caption.startswith("/"):  # a file sent with a command as its caption: "/nhap"
            return replace(Event.from_text(CHANNEL, user_id, chat_id, caption, **common), document=attached)
        return Event(CHANNEL, user_id, chat_id, document=attached, **common)
    if "location" in message:
        location = message["location"]
        return Event(CHANNEL, user_id, chat_id, location=(location["latitude"], location["longitude"]), **common)
    return Event(CHANNEL, user_id, chat_id, **common)  # a sticker, a voice note: the core says what it needs


def _name(user: dict[str, Any]) -> str | None:
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    return name or None


# ---- replies out --------------------------------------------------------------------------


def keyboard_of(reply: Reply) -> Keyboard | None:
    rows = tuple(tuple((b.label, b.data) for b in row) for row in reply.buttons if row)
    return rows or None


def plan_reply(chat: str, reply: Reply) -> list[Action]:
    """The API calls that show one Reply: long texts split at line breaks, buttons on the last."""
    keyboard = keyboard_of(reply)
    if reply.image is not None or reply.document is not None:
        caption = reply.text if reply.text and len(reply.text) <= CAPTION_LIMIT else None
        if reply.image is not None:
            first = Action("send_photo", chat, text=caption, data=reply.image, keyboard=keyboard if caption else None)
        else:
            assert reply.document is not None
            first = Action("send_document", chat, text=caption, data=reply.document[1], filename=reply.document[0])
        rest = [] if caption or not reply.text else plan_reply(chat, Reply(reply.text, buttons=reply.buttons))
        if caption and keyboard and reply.document is not None:
            rest = [Action("send_text", chat, text="⬆️", keyboard=keyboard)]
        return [first, *rest]
    parts = split_text(reply.text, TEXT_LIMIT)
    actions = [Action("send_text", chat, text=part) for part in parts[:-1]]
    actions.append(Action("send_text", chat, text=parts[-1], keyboard=keyboard, ask=reply.ask if keyboard is None else None))
    return actions


def plan_pressed(chat: str, message_id: int | None, first: Reply | None) -> list[Action]:
    """After a button press: edit the pressed message in place when the reply redraws the same
    menu (a tick in a multi-choice); otherwise take its buttons away so they cannot be pressed
    twice, and the answers follow as new messages."""
    if message_id is None:
        return []
    if first is not None and first.edit and first.image is None and first.document is None and len(first.text) <= TEXT_LIMIT:
        return [Action("edit_text", chat, text=first.text, keyboard=keyboard_of(first), message_id=message_id)]
    return [Action("clear_buttons", chat, message_id=message_id)]


async def execute(client: TelegramClient, action: Action) -> None:
    if action.kind == "send_text":
        await client.send_text(action.chat, action.text or "…", action.keyboard, action.ask)
    elif action.kind == "send_photo":
        assert action.data is not None
        await client.send_photo(action.chat, action.data, action.text, action.keyboard)
    elif action.kind == "send_document":
        assert action.data is not None and action.filename is not None
        await client.send_document(action.chat, action.filename, action.data, action.text)
    elif action.kind == "edit_text":
        assert action.message_id is not None
        await client.edit_text(action.chat, action.message_id, action.text or "…", action.keyboard)
    elif action.kind == "clear_buttons":
        assert action.message_id is not None
        await client.clear_buttons(action.chat, action.message_id)
    elif action.kind == "answer_callback":
        assert action.callback_id is not None
        await client.answer_callback(action.callback_id)


# ---- command menus ------------------------------------------------------------------------


def command_menu(role_scope: Literal["everyone", "staff"], language: str) -> list[tuple[str, str]]:
    """(command, description) for Telegram's menu: everyone sees what guests, donors and
    collaborators use (a guest pressing /baocao is told to call 111); staff see everything."""
    roles = ("guest", "donor", "collaborator") if role_scope == "everyone" else ("staff",)
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    with i18n.use(language):
        for role in roles:
            for entry in commands.for_role(role):
                if entry.name not in seen:
                    seen.add(entry.name)
                    entries.append((entry.name, i18n._(entry.description or entry.name)[:256]))
    return entries[:100]


# ---- the per-update flow ------------------------------------------------------------------


class TelegramChannel:
    """Shared by both adapters: handle an update, answer it, keep each chat in order."""

    def __init__(self, app: Any, client: TelegramClient) -> None:
        self.app, self.client = app, client
        self.turns = ChatTurns()
        self.in_order = InOrder(app, CHANNEL)
        self.idle = self.turns.idle
        app.fetch_file = client.download

    async def on_update(self, update: dict[str, Any]) -> None:
        """Handle one update and send its answers; the chat's next update waits for both."""
        event = event_from_update(update)
        if event is None:
            return
        async with self.turns.turn(event.chat):
            replies = await self.app.handle(event)
            await self._answer(update, event, replies)

    async def _answer(self, update: dict[str, Any], event: Event, replies: list[Reply]) -> None:
        query = update.get("callback_query")
        if query is not None:
            await self._quietly(Action("answer_callback", callback_id=str(query["id"])))
            message_id = (query.get("message") or {}).get("message_id")
            pressed = plan_pressed(event.chat, message_id, replies[0] if replies else None)
            for action in pressed:
                await self._quietly(action)
            if pressed and pressed[0].kind == "edit_text":
                replies = replies[1:]
        await self.in_order.answer(self.send, event.chat, replies)

    async def _quietly(self, action: Action) -> None:
        """Cosmetic calls (stop the spinner, clear old buttons) must never block an answer."""
        try:
            await execute(self.client, action)
        except DeliveryError as exc:
            log.info("%s not done: %s", action.kind, type(exc).__name__)

    async def send(self, chat: str, reply: Reply) -> None:
        """Send one Reply (all its parts). Raises a bot.delivery error on failure."""
        for action in plan_reply(chat, reply):
            await execute(self.client, action)

    async def publish_commands(self, staff_chats: list[str]) -> None:
        """setMyCommands: the common menu per language, and the staff menu in each staff chat."""
        for language in ("vi", "en"):
            entries = command_menu("everyone", language)
            await self._commands(entries, None if language == "vi" else language, None)
        for chat in staff_chats:
            await self._commands(command_menu("staff", "vi"), None, chat)

    async def _commands(self, entries: list[tuple[str, str]], language: str | None, chat: str | None) -> None:
        try:
            await self.client.set_commands(entries, language, chat)
        except Permanent as exc:
            log.warning("setMyCommands refused: %s", exc)
