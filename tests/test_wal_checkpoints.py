"""SQLite's write-ahead log is copied back into the database file while the bot runs, off the
event loop: the file alone (what a crash of the machine's disk cache would leave) keeps up."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from cryptography.fernet import Fernet

from bot.app import App
from bot.settings import Settings
from storage import wal
from tests.support import Chat, Clock


def cases_in_file_alone(database: Path, copy: Path) -> int | None:
    """Reads the database file without its WAL (None: not even the schema is in it yet)."""
    shutil.copyfile(database, copy)
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT COUNT(*) FROM processed_update").fetchone()[0]
    except sqlite3.OperationalError:
        return None
    finally:
        connection.close()


async def test_the_database_file_keeps_up_while_the_bot_runs(tmp_path: Path, clock: Clock) -> None:
    database = tmp_path / "chungtay.db"
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{database}", data_key=Fernet.generate_key().decode(),
                        data_key_file=tmp_path / "unused.key")
    app = await App.open(settings, clock=clock)
    try:
        person = await Chat.collaborator(app, user="501")
        messages = wal.CHECKPOINT_EVERY * 3
        for i in range(messages):
            await person.send(f"tin nhắn {i}")
        await asyncio.sleep(0.2)  # the last checkpoint runs on its thread
        in_file = cases_in_file_alone(database, tmp_path / "copy.db")
        assert in_file is not None and in_file >= messages - wal.CHECKPOINT_EVERY, in_file
    finally:
        await app.close()
    assert cases_in_file_alone(database, tmp_path / "after.db") >= messages  # closing copies the rest
