"""The database disappears for five seconds: updates are retried, not dropped."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from bot.app import App
from bot.settings import Settings
from tests.conftest import TEST_POSTGRES_URL
from tests.support import Chat, Clock, postgres
from tests.support.tcp_proxy import TcpProxy
from tests.test_report_scenarios import FULL_REPORT

OUTAGE = 5.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_locked_by_another_process(app: App, collaborator: Chat, database_url: str) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:3])
    path = make_url(database_url).database
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:  # a backup tool or another process holding the write lock
        connection = sqlite3.connect(path)
        connection.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait()
        connection.rollback()
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait()
    asyncio.get_running_loop().call_later(OUTAGE, release.set)
    started = time.monotonic()
    await collaborator.send("lao cai")
    waited = time.monotonic() - started
    holder.join()
    assert waited >= OUTAGE - 0.5
    assert "Xã/phường" in collaborator.text  # answered once the file was free, answer kept
    await collaborator.answers(*FULL_REPORT[4:], "gửi")
    assert "Mã hồ sơ" in collaborator.text


async def test_postgres_unreachable_for_five_seconds(tmp_path: Path, clock: Clock) -> None:
    if not await postgres.reachable(TEST_POSTGRES_URL):
        pytest.skip(f"PostgreSQL not reachable at {TEST_POSTGRES_URL}")
    name = f"ct_outage_{int(time.time() * 1000) % 10**9}"
    await postgres.create_database(TEST_POSTGRES_URL, name)
    url = make_url(TEST_POSTGRES_URL)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port, database=name).render_as_string(hide_password=False)
    settings = Settings(_env_file=None, database_url=proxied, data_key=Fernet.generate_key().decode(), staff_ids="9001")
    app = await App.open(settings, clock=clock)
    try:
        chat = await Chat.collaborator(app, user="801")
        await chat.send("/baocao")
        await chat.answers(*FULL_REPORT[:3])
        await proxy.cut()
        asyncio.get_running_loop().call_later(OUTAGE, lambda: asyncio.ensure_future(proxy.restore()))
        started = time.monotonic()
        await chat.send("lao cai")
        assert time.monotonic() - started >= OUTAGE - 0.5
        assert "Xã/phường" in chat.text
        await chat.answers(*FULL_REPORT[4:], "gửi")
        assert "Mã hồ sơ" in chat.text
    finally:
        await app.close()
        await proxy.close()
        await postgres.drop_database(TEST_POSTGRES_URL, name)
