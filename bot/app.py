"""The application core every channel drives: `await app.handle(event) -> [Reply]`.

One event is one transaction: the update id is recorded, the person and chat state loaded, the
handler run, the new state saved and messages to other people queued in the outbox, all
committed together or not at all. Events of one chat are handled in order; chats in parallel.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot import i18n, router
from bot.context import Context, FileNeeded
from bot.core import Button, Event, Reply
from bot.settings import Settings
from storage import crypto, migrate, outbox, people
from storage.db import Database
from storage.models import Person, utcnow
from storage.unit import ChatMoved

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# PoolTimeout: every connection busy for 30 s (a burst of updates that write through the ORM).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DBAPIError, OSError, TimeoutError, PoolTimeout)


def _unavailable(exc: DBAPIError) -> bool:
    """A lost or refused connection, or a locked SQLite file: worth waiting for."""
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return True
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return any(word in text for word in ("locked", "connection", "terminat", "shutdown", "starting up"))
LAST_SEEN_RESOLUTION = timedelta(hours=1)
MAX_FILES_PER_UPDATE = 4  # files one update may fetch (a photo, a workbook): a bound, not a limit met


def reply_to_payload(reply: Reply) -> dict[str, Any]:
    """A Reply as JSON for the outbox (stored encrypted; images and files as base64)."""
    payload: dict[str, Any] = {
        "text": reply.text,
        "buttons": [[[b.label, b.data, b.typed] for b in row] for row in reply.buttons],
    }
    if reply.image is not None:
        payload["image"] = base64.b64encode(reply.image).decode()
    if reply.document is not None:
        payload["document"] = [reply.document[0], base64.b64encode(reply.document[1]).decode()]
    return payload


def payload_to_reply(payload: dict[str, Any]) -> Reply:
    rows = tuple(tuple(Button(label, data, typed) for label, data, typed in row) for row in payload.get("buttons", []))
    image = base64.b64decode(payload["image"]) if payload.get("image") else None
    document = (payload["document"][0], base64.b64decode(payload["document"][1])) if payload.get("document") else None
    return Reply(payload["text"], buttons=rows, image=image, document=document)


class App:
    def __init__(self, settings: Settings, db: Database, clock: Clock = utcnow) -> None:
        self.settings, self.db, self.clock = settings, db, clock
        self._chat_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()
        self.outbox_ready = asyncio.Event()
        self.db_retry_seconds = 60.0
        # Set by the running channel: download a file a person sent (an imported workbook).
        self.fetch_file: Callable[[str], Awaitable[bytes]] | None = None

    @classmethod
    async def open(cls, settings: Settings, *, clock: Clock = utcnow, run_migrations: bool = True) -> App:
        """Configure encryption, connect, migrate, and make STAFF_IDS staff."""
        crypto.configure(settings.data_keys())
        db = Database(settings.database_url)
        if run_migrations:
            await migrate.upgrade(db.engine)
        app = cls(settings, db, clock)
        await app.sync_staff_ids()
        return app

    async def close(self) -> None:
        await self.db.dispose()

    async def sync_staff_ids(self) -> None:
        if not self.settings.staff_id_list:
            return
        async with self.db.transaction() as session:
            for entry in self.settings.staff_id_list:  # "123" is Telegram; "zalo:abc" is Zalo
                channel, _sep, user_id = entry.rpartition(":")
                await people.set_role(session, channel.strip().lower() or "telegram", user_id.strip(), "staff")

    def _lock(self, channel: str, chat: str) -> asyncio.Lock:
        key = (channel, chat)
        lock = self._chat_locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._chat_locks[key] = lock
        return lock

    async def handle(self, event: Event) -> list[Reply]:
        """Process one event; return the direct replies. Never raises for bad input."""
        async with self._lock(event.channel, event.chat):
            try:
                return await self._handle_retrying(event)
            except crypto.KeyError_:
                raise
            except Exception:
                # Logged without the event's content: it may hold a child's personal data.
                log.exception("handler failed: channel=%s update=%s", event.channel, event.update)
                with i18n.use(i18n.pick(event.locale, self.settings.default_locale)):
                    return [Reply(i18n._("Xin lỗi, có lỗi khi xử lý tin nhắn này. Câu trả lời vừa rồi chưa được lưu; các câu trước vẫn còn. Hãy gửi lại."))]

    async def _handle_retrying(self, event: Event) -> list[Reply]:
        """The database gone for a moment (restarting, locked by a backup) delays an update; it
        does not drop it. Each try is a whole transaction, so a retry never doubles anything."""
        started = time.monotonic()
        files: dict[str, bytes | Exception] = {}
        for attempt in itertools.count():
            try:
                return await self._handle(event, files)
            except FileNeeded as need:  # rolled back; fetched with no transaction open (bot/context.py)
                if need.file_id in files or len(files) >= MAX_FILES_PER_UPDATE:
                    raise RuntimeError("a handler asked for a file twice, or for too many") from None
                files[need.file_id] = await self._download(need.file_id)
                started = time.monotonic()  # the database's time to come back counts from now
            except DATABASE_UNAVAILABLE as exc:
                if isinstance(exc, DBAPIError) and not _unavailable(exc):
                    raise
                if time.monotonic() - started > self.db_retry_seconds:
                    raise
                if isinstance(exc, ChatMoved):  # another worker answered this chat meanwhile: not an outage
                    log.info("chat changed meanwhile; update %s runs again", event.update)
                else:
                    log.warning("database unavailable (%s); retrying update %s", type(exc).__name__, event.update)
                await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    async def _download(self, file_id: str) -> bytes | Exception:
        if self.fetch_file is None:
            return LookupError("this channel cannot download files")
        try:
            return await self.fetch_file(file_id)
        except Exception as exc:  # the handler words it for the person; the file id is not logged
            log.warning("file not downloaded: %s", type(exc).__name__)
            return exc

    async def _handle(self, event: Event, files: dict[str, bytes | Exception]) -> list[Reply]:
        queued = False
        async with self.db.chat_unit() as unit:
            opened = await unit.open(event.channel, event.update, event.user, event.chat)
            if opened is None:
                log.info("duplicate update ignored: channel=%s update=%s", event.channel, event.update)
                return []
            person, chat = opened
            now = self.clock()
            if person.last_seen_at is None or now - person.last_seen_at > LAST_SEEN_RESOLUTION:
                person.last_seen_at = now  # hourly is enough for "last active", and saves a write
            if event.name and person.display_name is None:
                person.display_name = event.name[:80]
            lang = person.locale or i18n.pick(event.locale, self.settings.default_locale)
            ctx = Context(app=self, unit=unit, event=event, person=person, chat=chat, now=now, lang=lang, files=files)
            with i18n.use(lang):
                replies = await router.dispatch(ctx)
            router.remember_menu(ctx, replies)
            for reply in ctx.outgoing:
                assert reply.to is not None and reply.channel is not None
                outbox.enqueue(ctx.session, reply.channel, reply.to, reply_to_payload(reply), kind="alert", now=ctx.now)
                queued = True
        if queued:
            self.outbox_ready.set()
        return replies

    async def enqueue(self, channel: str, chat: str, replies: list[Reply], kind: str = "reply") -> None:
        """Hand messages to the outbox (answers a channel could not deliver now, in order)."""
        async with self.db.transaction() as session:
            for reply in replies:
                outbox.enqueue(session, channel, chat, reply_to_payload(reply), kind=kind, now=self.clock())
        self.outbox_ready.set()

    async def outbox_waiting(self, channel: str, chat: str) -> bool:
        """Whether the outbox still holds a message to this chat."""
        async with self.db.transaction() as session:
            return await outbox.waiting_for(session, channel, chat)

    async def impersonate(self, channel: str, user: str, role: str) -> Person:
        """Local chat only: be a collaborator, donor or staff member to try each side."""
        async with self.db.transaction() as session:
            person = await people.set_role(session, channel, user, role)
            await session.flush()
            session.expunge(person)
            return person
