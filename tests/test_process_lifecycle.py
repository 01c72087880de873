"""The bot as a real process (`python -m bot run`): killed with SIGKILL mid-form it resumes;
stopped with SIGTERM it finishes what it holds and flushes the outbox, then exits 0."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support.telegram import TOKEN, TelegramUser
from tests.test_report_scenarios import FULL_REPORT

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.parametrize("framework", ["ptb", "aiogram"])


def bot_env(api: FakeTelegramAPI, tmp_path: Path, framework: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    return {
        **keep,
        "BOT_TOKEN": TOKEN,
        "BOT_FRAMEWORK": framework,
        "BOT_API_BASE_URL": api.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "DATA_KEY": (tmp_path / "key").read_text() if (tmp_path / "key").exists() else _new_key(tmp_path),
        "STAFF_IDS": "9001",
        "LOG_LEVEL": "WARNING",
    }


def _new_key(tmp_path: Path) -> str:
    key = Fernet.generate_key().decode()
    (tmp_path / "key").write_text(key)
    return key


async def cli(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def start_bot(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


async def test_killed_mid_form_resumes_at_the_same_question(tmp_path: Path, framework: str) -> None:
    async with FakeTelegramAPI(token=TOKEN) as api:
        env = bot_env(api, tmp_path, framework)
        await cli(env, "migrate")
        code = re.search(r"invite code: (\w+)", await cli(env, "invite", "ban ho", "--province", "lao cai")).group(1)
        bot = await start_bot(env)
        user = TelegramUser(api, 7001)
        try:
            await user.say(f"/start {code}", expect="Chào mừng", timeout=30)
            await user.say("/baocao", expect="Họ và tên")
            for answer in FULL_REPORT[:5]:
                await user.say(answer)
            assert "Thôn" in user.texts()[-1]
        finally:
            bot.kill()  # SIGKILL: no goodbye
            await bot.wait()

        bot = await start_bot(env)
        try:
            text = await user.say("/baocao", expect="làm dở", timeout=30)
            assert "Thôn, bản, tổ dân phố" in text
            for answer in FULL_REPORT[5:]:
                await user.say(answer)
            summary = user.texts()[-1]
            for earlier in ("Nguyễn Văn An", "khoảng 7 tuổi", "Xã Bản Hồ"):
                assert earlier in summary
            await user.say("gửi", expect="Mã hồ sơ: LCA-")
        finally:
            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), timeout=30) == 0
        assert api.errors == []


async def test_sigterm_flushes_the_outbox_before_exit(tmp_path: Path, framework: str) -> None:
    async with FakeTelegramAPI(token=TOKEN) as api:
        env = bot_env(api, tmp_path, framework)
        await cli(env, "migrate")
        code = re.search(r"invite code: (\w+)", await cli(env, "invite", "ban ho", "--province", "lao cai")).group(1)
        bot = await start_bot(env)
        user, staff = TelegramUser(api, 7002), TelegramUser(api, 9001)
        await user.say(f"/start {code}", expect="Chào mừng", timeout=30)
        await user.say("/baocao", expect="Họ và tên")
        for answer in FULL_REPORT[:9]:
            await user.say(answer)
        api.delay("sendMessage", 0.3)  # slow network: the alert is still in the outbox at SIGTERM
        api.push_text(7002, "có")
        await asyncio.sleep(0.2)
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.wait(), timeout=60) == 0
        assert any("KHẨN CẤP" in t for t in staff.texts()), "the staff alert was lost on shutdown"
        assert any("111" in t for t in user.texts())
