"""A person on Telegram, talking to the running bot through the loopback Bot API server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.app import App
from bot.service import BotService, make_adapter
from bot.settings import Settings
from tests.fakes.telegram_api import Call, FakeTelegramAPI

TOKEN = "123456:TEST-token"


class TelegramUser:
    """Pushes updates as one user and waits for what the bot answers in that chat."""

    def __init__(self, api: FakeTelegramAPI, user_id: int, language: str = "vi") -> None:
        self.api, self.id, self.language = api, user_id, language

    def received(self) -> list[Call]:
        return self.api.sent_to(self.id)

    def texts(self) -> list[str]:
        return [c.text or "" for c in self.received()]

    async def _await(self, before: int, expect: str | None, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.received()[before:]
            joined = "\n\n".join(c.text or "" for c in calls)
            if calls and (expect is None or expect in joined):
                return joined
            await asyncio.sleep(0.01)
        raise AssertionError(f"user {self.id}: no answer containing {expect!r}; got {self.texts()[before:]}")

    async def say(self, text: str, expect: str | None = None, timeout: float = 10) -> str:
        before = len(self.received())
        self.api.push_text(self.id, text, language_code=self.language)
        return await self._await(before, expect, timeout)

    async def tap(self, data: str, expect: str | None = None, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while True:  # a person taps a button once it is on the screen
            before = len(self.received())
            try:
                self.api.push_callback(self.id, data)
                break
            except ValueError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.01)
        return await self._await(before, expect, timeout)

    def last_buttons(self) -> list[str]:
        for call in reversed(self.received()):
            if call.buttons:
                return [b.get("callback_data", "") for b in call.buttons]
        return []


async def settle(api: FakeTelegramAPI, service: BotService, timeout: float = 10) -> None:
    """Until every pushed update is confirmed and the bot has finished answering."""
    await api.wait_idle(timeout=timeout)
    await asyncio.wait_for(service.channel.idle.wait(), timeout=timeout)
    await asyncio.sleep(0.05)


@asynccontextmanager
async def running_bot(settings: Settings, framework: str, clock: Any = None, **overrides: Any) -> AsyncIterator[tuple[FakeTelegramAPI, BotService]]:
    """The real bot (adapter, channel, outbox sender) polling a fresh loopback Bot API server."""
    async with FakeTelegramAPI(token=TOKEN) as api:
        fields = {**settings.model_dump(), "bot_token": TOKEN, "bot_api_base_url": api.base_url, "bot_framework": framework, **overrides}
        configured = Settings(_env_file=None, **fields)
        app = await App.open(configured, **({"clock": clock} if clock else {}))
        service = BotService(app, make_adapter(configured), configured)
        await service.start()
        try:
            yield api, service
        finally:
            await service.stop(grace=5)
            await app.close()
