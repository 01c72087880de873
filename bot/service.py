"""Running the bot on a real channel: updates in (polling or webhook), the outbox sender, daily
jobs, and a graceful stop on SIGTERM (stop taking updates, finish those in hand, flush the
outbox)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot import jobs
from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.channels.webhook import WebhookServer, make_app
from bot.delivery import DeliveryError, OutboxSender
from bot.settings import Settings
from storage import outbox, people

log = logging.getLogger(__name__)


class Adapter(Protocol):
    name: str
    client: Any

    def attach(self, channel: TelegramChannel) -> None: ...
    async def start(self) -> None: ...
    async def start_polling(self) -> None: ...
    async def feed(self, data: dict[str, Any]) -> None: ...
    async def set_webhook(self, url: str, secret: str | None) -> None: ...
    async def stop_taking_updates(self) -> None: ...
    async def stop(self) -> None: ...


def make_adapter(settings: Settings) -> Adapter:
    assert settings.bot_token is not None
    token, base = settings.bot_token.get_secret_value(), settings.bot_api_base_url
    if settings.bot_framework == "ptb":
        from bot.channels.ptb_bot import PTBAdapter

        return PTBAdapter(token, base)
    if settings.bot_framework == "aiogram":
        from bot.channels.aiogram_bot import AiogramAdapter

        return AiogramAdapter(token, base)
    raise SystemExit(f"BOT_FRAMEWORK={settings.bot_framework} is not available")


async def health(app: App) -> dict[str, Any]:
    try:
        async with app.db.transaction() as session:
            depth = await outbox.depth(session)
    except Exception as exc:  # the point is to report it, not to crash the probe
        return {"database": type(exc).__name__}
    return {"database": "ok", "outbox_pending": depth}


class BotService:
    def __init__(self, app: App, adapter: Adapter, settings: Settings) -> None:
        self.app, self.adapter, self.settings = app, adapter, settings
        self.channel = TelegramChannel(app, adapter.client)
        adapter.attach(self.channel)
        self.sender = OutboxSender(app, "telegram", self.channel.send)
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.webhook: WebhookServer | None = None

    async def start(self) -> None:
        await self.adapter.start()
        async with self.app.db.transaction() as session:
            staff_chats = [p.chat_id for p in await people.staff(session) if p.channel == "telegram"]
        with contextlib.suppress(DeliveryError):  # a menu is nice to have, not a reason not to start
            await self.channel.publish_commands(staff_chats)
        self.tasks.append(asyncio.create_task(self.sender.run(self.stopping)))
        self.tasks.append(asyncio.create_task(jobs.loop(self.app, self.stopping)))
        if self.settings.webhook_url:
            secret = self.settings.webhook_secret.get_secret_value() if self.settings.webhook_secret else secrets.token_urlsafe(32)
            path = urlsplit(self.settings.webhook_url).path or "/"
            web_app = make_app(path, secret, self.adapter.feed, lambda: health(self.app))
            self.webhook = WebhookServer(web_app, self.settings.webhook_listen)
            await self.webhook.start()
            await self.adapter.set_webhook(self.settings.webhook_url, secret)
        else:
            await self.adapter.start_polling()
        log.info("bot running: framework=%s mode=%s", self.adapter.name, "webhook" if self.webhook else "polling")

    async def stop(self, grace: float = 20.0) -> None:
        """Stop taking updates, finish those in hand, flush the outbox, close."""
        await self.adapter.stop_taking_updates()
        if self.webhook is not None:
            await self.webhook.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.channel.idle.wait(), timeout=grace)
        self.stopping.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.sender.flush(deadline=grace)
        await self.adapter.stop()
        log.info("bot stopped")


async def serve(settings: Settings) -> int:
    app = await App.open(settings)
    service = BotService(app, make_adapter(settings), settings)
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
