"""The bot as a real process (`python -m bot run`): killed with SIGKILL mid-form it resumes;
stopped with SIGTERM it finishes what it holds and flushes the outbox, then exits 0."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support.process import bot_env, cli, start_bot
from tests.support.telegram import TOKEN, TelegramUser
from tests.test_report_scenarios import FULL_REPORT

pytestmark = pytest.mark.parametrize("framework", ["ptb", "aiogram"])


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
