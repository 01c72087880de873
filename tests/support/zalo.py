"""A person on Zalo, talking to the running bot through the loopback Zalo Bot API server."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.app import App
from bot.service import BotService, make_adapter
from bot.settings import Settings
from tests.fakes.zalo_api import Call, FakeZaloAPI

TOKEN = "1459232241454765289:zalo-TEST-token"


def zalo_id(n: int) -> str:
    """A Zalo-looking user id (20 hex digits) for a small test number."""
    return f"{n:020x}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ZaloUser:
    """Pushes messages as one Zalo user and waits for what the bot sends to that chat."""

    def __init__(self, api: FakeZaloAPI, user: str | int) -> None:
        self.api = api
        self.id = zalo_id(user) if isinstance(user, int) else user

    def received(self) -> list[Call]:
        return self.api.sent_to(self.id)

    def texts(self) -> list[str]:
        return [c.text for c in self.received()]

    async def wait(self, before: int = 0, expect: str | None = None, timeout: float = 10) -> str:
        """Everything sent to this chat since `before`, once it contains `expect`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.received()[before:]
            joined = "\n\n".join(c.text for c in calls)
            if calls and (expect is None or expect in joined):
                return joined
            await asyncio.sleep(0.01)
        raise AssertionError(f"zalo user {self.id}: no answer containing {expect!r}; got {self.texts()[before:]}; errors={self.api.errors}")

    async def say(self, text: str, expect: str | None = None, timeout: float = 10) -> str:
        before = len(self.received())
        self.api.push_text(self.id, text)
        return await self.wait(before, expect, timeout)


async def settle(api: FakeZaloAPI, service: BotService, timeout: float = 10) -> None:
    """Until every pushed update was taken and the bot has finished answering."""
    await api.wait_idle(timeout=timeout)
    await asyncio.wait_for(service.channel.idle.wait(), timeout=timeout)
    await asyncio.sleep(0.05)


@asynccontextmanager
async def running_bot(settings: Settings, clock: Any = None, *, http_status: bool = False, files: bool = False,
                      **overrides: Any) -> AsyncIterator[tuple[FakeZaloAPI, BotService]]:
    """The real bot (Zalo adapter, channel, outbox sender) polling a fresh loopback Zalo API.

    `files`: give it a PUBLIC_URL on a free loopback port, so it serves photos and downloads."""
    async with FakeZaloAPI(token=TOKEN, http_status=http_status) as api:
        fields = {**settings.model_dump(), "bot_token": TOKEN, "bot_api_base_url": api.base_url, "bot_framework": "zalo"}
        if files:
            port = free_port()
            fields |= {"public_url": f"http://127.0.0.1:{port}", "webhook_listen": f"127.0.0.1:{port}"}
        configured = Settings(_env_file=None, **(fields | overrides))
        app = await App.open(configured, **({"clock": clock} if clock else {}))
        adapter = make_adapter(configured)
        adapter.poll_timeout = 2  # type: ignore[attr-defined]  # short polls: a quick stop in tests
        service = BotService(app, adapter, configured)
        await service.start()
        try:
            yield api, service
        finally:
            await service.stop(grace=5)
            await app.close()
