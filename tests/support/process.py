"""The bot as a real process (`python -m bot …`) against a loopback Bot API server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support.telegram import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def bot_env(api: FakeTelegramAPI, tmp_path: Path, framework: str, **extra: str) -> dict[str, str]:
    key_file = tmp_path / "key"
    if not key_file.exists():
        key_file.write_text(Fernet.generate_key().decode())
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        "BOT_TOKEN": TOKEN,
        "BOT_FRAMEWORK": framework,
        "BOT_API_BASE_URL": api.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "DATA_KEY": key_file.read_text(),
        "STAFF_IDS": "9001",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


async def cli(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def start_bot(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
