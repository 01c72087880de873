"""Migrations: a new database is brought to the newest revision; a restart on a migrated one
does not import Alembic (part of start-up time), and storage.migrate.HEAD names the newest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.app import App
from storage import migrate

ROOT = Path(__file__).resolve().parent.parent


def test_head_is_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(migrate.alembic_config()).get_current_head() == migrate.HEAD


async def test_a_new_database_is_migrated_to_head(app: App) -> None:
    assert await migrate.applied(app.db.engine) == [migrate.HEAD]
    assert await migrate.current_revision(app.db.engine) == migrate.HEAD


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_restart_at_head_does_not_import_alembic(app: App, database_url: str) -> None:
    script = (
        "import asyncio, sys\n"
        "from storage.db import Database\n"
        "from storage import migrate\n"
        "async def main():\n"
        f"    db = Database({database_url!r})\n"
        "    await migrate.upgrade(db.engine)\n"
        "    await db.dispose()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
