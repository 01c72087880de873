"""Running the bot on a real channel: updates in (polling or webhook), the outbox sender, daily
jobs, and a graceful stop on SIGTERM (stop taking updates, finish those in hand, flush the
outbox).

One process runs one channel, chosen by BOT_FRAMEWORK: Telegram (ptb, aiogram) or Zalo. To
serve both, run two processes on one database: each drains the outbox of its own channel, so
an alert queued for a Telegram staff member by a Zalo report goes out from the Telegram process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import hmac
import logging
import signal
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot import jobs
from bot.app import App
from bot.channels import zalo
from bot.channels.telegram import TelegramChannel
from bot.channels.webhook import WebhookServer, make_app
from bot.delivery import DeliveryError, OutboxSender
from bot.intake import Intake
from bot.ops.health import health
from bot.settings import Settings
from storage import links, people

log = logging.getLogger(__name__)

GC_THRESHOLDS = (20_000, 50, 1_000)


Channel = TelegramChannel | zalo.ZaloChannel


class TelegramAdapter(Protocol):
    """python-telegram-bot or aiogram: API calls only; bot/intake.py does the receiving."""

    name: str
    client: Any

    async def start(self) -> None: ...
    async def fetch_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]: ...
    def parse(self, data: dict[str, Any]) -> dict[str, Any]: ...
    async def set_webhook(self, url: str, secret: str | None) -> None: ...
    async def stop(self) -> None: ...


Adapter = TelegramAdapter | zalo.ZaloAdapter


def api_base_url(settings: Settings) -> str:
    """BOT_API_BASE_URL, or Zalo's address when it was left at Telegram's default."""
    if settings.bot_framework == "zalo" and settings.bot_api_base_url == Settings.model_fields["bot_api_base_url"].default:
        return zalo.DEFAULT_BASE_URL
    return settings.bot_api_base_url


def make_adapter(settings: Settings) -> Adapter:
    assert settings.bot_token is not None
    token, base = settings.bot_token.get_secret_value(), api_base_url(settings)
    if settings.bot_framework == "ptb":
        from bot.channels.ptb_bot import PTBAdapter

        return PTBAdapter(token, base)
    if settings.bot_framework == "aiogram":
        from bot.channels.aiogram_bot import AiogramAdapter

        return AiogramAdapter(token, base)
    if settings.bot_framework == "zalo":
        return zalo.ZaloAdapter(token, base)
    raise SystemExit(f"BOT_FRAMEWORK={settings.bot_framework} is not available")


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, or one derived from the token: the same in every worker of `run --workers
    N` (only worker 0 registers it) and after a restart."""
    if settings.webhook_secret is not None and settings.webhook_secret.get_secret_value():
        return settings.webhook_secret.get_secret_value()
    assert settings.bot_token is not None
    return hmac.new(settings.bot_token.get_secret_value().encode(), b"chungtay webhook", hashlib.sha256).hexdigest()


class StoredFiles:
    """Zalo's FileHost: images and workbooks kept in the database (storage.links) and served by
    this process under PUBLIC_URL, so any worker can serve what another one published."""

    PHOTO_REUSE = timedelta(hours=12)  # a retried photo reuses its URL instead of a new row

    def __init__(self, app: App, public_url: str | None) -> None:
        self.app = app
        self.base = public_url.rstrip("/") if public_url else None
        self._photos: dict[str, tuple[str, datetime]] = {}

    async def publish(self, kind: zalo.FileKind, name: str, data: bytes) -> str | None:
        if self.base is None:
            return None
        now = self.app.clock()
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else "png"
        key = hashlib.sha256(suffix.encode() + b"\0" + data).hexdigest()
        if kind == "photo" and (known := self._photos.get(key)) and known[1] > now:
            return known[0]
        async with self.app.db.transaction() as session:
            token = await links.share_file(session, kind, name, data, now=now)
        if kind == "download":
            return f"{self.base}/d/{token}"
        url = f"{self.base}/f/{token}.{suffix}"
        self._photos = {k: v for k, v in self._photos.items() if v[1] > now}
        self._photos[key] = (url, now + self.PHOTO_REUSE)
        return url

    async def open(self, token: str, kind: zalo.FileKind, take: bool) -> tuple[str, bytes] | None:
        async with self.app.db.transaction() as session:
            found = await links.open_file(session, token, kind, now=self.app.clock(), take=take)
            return None if found is None else (found.name, found.data)


class BotService:
    def __init__(self, app: App, adapter: Adapter, settings: Settings) -> None:
        self.app, self.adapter, self.settings = app, adapter, settings
        self.files: StoredFiles | None = None
        self.channel: Channel
        self.intake: Intake | None = None
        if isinstance(adapter, zalo.ZaloAdapter):
            self.files = StoredFiles(app, settings.public_url)
            self.channel = zalo.ZaloChannel(app, adapter.client, self.files)
            self.channel_name, self.secret_header = zalo.CHANNEL, zalo.SECRET_HEADER
            adapter.attach(self.channel)
        else:
            self.channel = TelegramChannel(app, adapter.client)
            self.channel_name, self.secret_header = "telegram", "X-Telegram-Bot-Api-Secret-Token"
            self.intake = Intake(app, self.channel_name, self.channel.on_update)
        self.sender = OutboxSender(app, self.channel_name, self.channel.send)
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.webhook: WebhookServer | None = None

    async def start(self) -> None:
        """Take updates as soon as possible; what can wait (the command menus) comes after."""
        await self.adapter.start()
        if not isinstance(self.channel, TelegramChannel) and not self.settings.public_url:
            log.warning("PUBLIC_URL is not set: on Zalo, charts and QR codes go as text and workbooks cannot be downloaded")
        secret = None
        if self.settings.webhook_url:
            secret = webhook_secret(self.settings)
            path = urlsplit(self.settings.webhook_url).path or "/"
            web_app = make_app(path, secret, self.feed, lambda: health(self.app), secret_header=self.secret_header)
        elif self.files is not None and self.files.base is not None:
            # Polling, but files must be fetchable: the same server, its update path refusing all.
            web_app = make_app("/", None, self.feed, lambda: health(self.app))
        else:
            web_app = None
        if web_app is not None:
            if self.files is not None and self.files.base is not None:
                zalo.add_file_routes(web_app, self.files.open)
            self.webhook = WebhookServer(web_app, self.settings.webhook_listen)
            await self.webhook.start()
        if self.settings.webhook_url:
            if self.settings.worker_index == 0:  # `run --workers N`: one registration for all
                await self.adapter.set_webhook(self.settings.webhook_url, secret)
        elif isinstance(self.adapter, zalo.ZaloAdapter):
            await self.adapter.start_polling()
        else:
            assert self.intake is not None
            await self.intake.start_polling(self.adapter.fetch_updates)
        self.tasks.append(asyncio.create_task(self.sender.run(self.stopping)))
        self.tasks.append(asyncio.create_task(jobs.loop(self.app, self.stopping)))
        if isinstance(self.channel, TelegramChannel):
            await self._publish_commands(self.channel)
        log.info("bot running: framework=%s mode=%s", self.adapter.name, "webhook" if self.settings.webhook_url else "polling")

    async def feed(self, data: dict[str, Any]) -> None:
        """One webhook body: Telegram's is handled before the request is answered (bot/intake.py)."""
        if isinstance(self.adapter, zalo.ZaloAdapter):
            await self.adapter.feed(data)
            return
        assert self.intake is not None
        try:
            update = self.adapter.parse(data)
        except ValueError:  # pydantic's ValidationError is one too
            log.warning("webhook body is not an update: ignored")
            return
        await self.intake.feed(update)

    async def _publish_commands(self, channel: TelegramChannel) -> None:
        """The command menus: one call per language and per staff chat, made while updates flow."""
        async with self.app.db.transaction() as session:
            staff_chats = [p.chat_id for p in await people.staff(session) if p.channel == self.channel_name]
        with contextlib.suppress(DeliveryError):  # a menu is nice to have, not a reason not to start
            await channel.publish_commands(staff_chats)

    async def stop(self, grace: float = 20.0) -> None:
        """Stop taking updates, finish those in hand, flush the outbox, close.

        A server that also serves files (Zalo fetches photos by URL) stays up until the outbox
        is flushed; its webhook already refuses updates (the adapter answers 503)."""
        if self.webhook is not None and self.files is None:
            await self.webhook.stop()
            self.webhook = None
        if isinstance(self.adapter, zalo.ZaloAdapter):
            await self.adapter.stop_taking_updates()
        elif self.intake is not None:
            await self.intake.stop(grace)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.channel.idle.wait(), timeout=grace)
        self.stopping.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.sender.flush(deadline=grace)
        if self.webhook is not None:
            await self.webhook.stop()
        await self.adapter.stop()
        log.info("bot stopped")


async def serve(settings: Settings) -> int:
    app = await App.open(settings)
    service = BotService(app, make_adapter(settings), settings)
    # Everything imported and built so far lives as long as the process: keep the collector from
    # walking those ~10^6 objects on every full collection (~1 s of CPU per 20,000 updates).
    gc.freeze()
    # An update allocates a few thousand objects, nearly all freed by reference counting; at the
    # default 700 the young generation was collected several times per update. Measured: 6-9%
    # less CPU per update in the replay bench, the same peak RSS.
    gc.set_threshold(*GC_THRESHOLDS)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        await stop.wait()
    finally:
        await service.stop()
        await app.close()
    return 0
