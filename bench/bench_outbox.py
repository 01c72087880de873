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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from bot.app import App, reply_to_payload
from bot.channels.telegram import TelegramChannel
from bot.core import Reply
from bot.delivery import OutboxSender
from bot.service import make_adapter
from bot.settings import Settings
from storage import outbox
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456:BENCH-token"


async def main(messages: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegramAPI(token=TOKEN) as api:
            api.enforce_limits(per_second=30, per_chat_interval=1.0)
            settings = Settings(_env_file=None, bot_token=TOKEN, bot_api_base_url=api.base_url, bot_framework="ptb",
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
            too_many = sum(1 for c in api.calls if c.status == 429)
            print(f"messages {messages}  elapsed {elapsed:.1f} s  floor {floor:.1f} s  over floor {100 * (elapsed / floor - 1):.2f}%  429s {too_many}")
            await adapter.stop()
            await app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().messages))
