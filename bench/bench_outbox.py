"""Outbox bench: 10,000 broadcast messages to 10,000 chats through the real sender, against a
loopback Bot API that answers 429 past 30 messages a second (as Telegram does).

    .venv/bin/python bench/bench_outbox.py [--messages 10000]

Goal: elapsed within 5% of the floor (messages / 30 s) and no 429 at all.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from bot.app import App, reply_to_payload
from bot.channels.telegram import TelegramChannel
from bot.core import Reply
from bot.delivery import OutboxSender
from bot.service import make_adapter
from bot.settings import Settings
from storage import outbox

ROOT = Path(__file__).resolve().parent.parent  # the fake Bot API runs from the repository (tests/)
TOKEN = "123456:BENCH-token"


async def main(messages: int) -> None:
    """The Bot API server runs in its own process, so its clock is not the sender's event loop."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.fakes.telegram_api", str(port), TOKEN, "--enforce",
                                                  cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    assert server.stdout is not None
    base_url = (await server.stdout.readline()).decode().strip()
    try:
        await run(messages, base_url)
    finally:
        server.terminate()
        await server.wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run(messages: int, base_url: str) -> None:
    import aiohttp

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, bot_token=TOKEN, bot_api_base_url=base_url, bot_framework="ptb",
                            database_url=f"sqlite+aiosqlite:///{tmp}/outbox.db", data_key=Fernet.generate_key().decode())
        app = await App.open(settings)
        adapter = make_adapter(settings)
        await adapter.start()
        channel = TelegramChannel(app, adapter.client)
        payload = reply_to_payload(Reply("Thông báo: tháng này có 12 nhu cầu mới ở Lào Cai. Gõ /nhucau để xem."))
        async with app.db.transaction() as session:
            for n in range(messages):
                outbox.enqueue(session, "telegram", str(100_000 + n), payload, kind="broadcast", batch=1)
        sender = OutboxSender(app, "telegram", channel.send)
        started = time.monotonic()
        sent = 0
        while sent < messages:
            sent += await sender.drain_once(limit=500)
        elapsed = time.monotonic() - started
        floor = messages / 30
        async with aiohttp.ClientSession() as http, http.get(f"{base_url}/__stats") as response:
            too_many = (await response.json())["statuses"].get("429", 0)
        print(f"messages {messages}  elapsed {elapsed:.1f} s  floor {floor:.1f} s  over floor {100 * (elapsed / floor - 1):.2f}%  429s {too_many}")
        await adapter.stop()
        await app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().messages))
