"""Kill -9 the bot at random moments while 1,000 people fill the report form; restart it each
time (20 rounds). Every answer the bot acknowledged is in the database, everyone resumes at the
right question, and no update is answered twice.

Sizes: SOAK_USERS and SOAK_ROUNDS. The suite runs 100 people and 5 kills so CI stays bounded
on two cores; `SOAK_USERS=1000 SOAK_ROUNDS=20 pytest tests/test_soak_kill.py` is the full size of issue 7.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import time
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import App
from bot.settings import Settings
from conversations.parsing import places
from storage import people
from storage.models import Case
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support.process import bot_env, cli, start_bot
from tests.support.telegram import TOKEN
from tests.test_report_scenarios import FULL_REPORT

USERS = int(os.environ.get("SOAK_USERS", "100"))
ROUNDS = int(os.environ.get("SOAK_ROUNDS", "5"))
QUESTION = re.compile(r"^\((\d+)/\d+\)", re.MULTILINE)
# Answers that come in two messages start with one of these (unless the question is in the same
# message); the second part is what to answer.
RESUMED = "Bạn đang có một báo cáo làm dở"
PREAMBLES = ("Chào mừng", "Bắt đầu báo cáo", RESUMED)
MAX_MESSAGES = 200  # the form is 20 answers; a person past this is going round in circles


def next_message(text: str) -> str | None:
    """What a person answers to the bot's latest message: the answer to the question it asks."""
    if "Mã hồ sơ" in text:
        return None
    if "Kiểm tra lại" in text:
        return "gửi"
    match = QUESTION.search(text)
    if match:
        return FULL_REPORT[int(match.group(1)) - 1]
    return "/baocao"  # a welcome, a menu, an apology: ask for the form


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_sigkill_at_random_moments(tmp_path: Path, framework: str, database_url: str) -> None:
    async with FakeTelegramAPI(token=TOKEN) as api:
        env = bot_env(api, tmp_path, framework, DATABASE_URL=database_url)
        await cli(env, "migrate")
        settings = Settings(_env_file=None, database_url=env["DATABASE_URL"], data_key=env["DATA_KEY"])
        app = await App.open(settings)
        commune = places.search_wards(15, "Bản Hồ")[0].code
        async with app.db.transaction() as session:
            codes = [(await people.create_invite(session, 15, commune)).code for _ in range(USERS)]
        await app.close()

        users = list(range(20_000, 20_000 + USERS))
        pushed: dict[int, list[tuple[float, str]]] = {u: [] for u in users}
        finished: set[int] = set()
        arrivals: dict[int, asyncio.Event] = {u: asyncio.Event() for u in users}
        api.listeners.append(lambda call: arrivals[call.chat_id].set() if call.chat_id in arrivals and call.ok else None)

        def answered(user: int, seen: int) -> bool:
            """The bot's whole answer is in: something new came and the latest is not a preamble."""
            sent = api.sent_to(user)
            if len(sent) == seen:
                return False
            latest = sent[-1].text or ""
            return not latest.startswith(PREAMBLES) or QUESTION.search(latest) is not None

        resumes: list[tuple[int, int]] = []  # (last question asked before, question resumed at)
        returning: set[int] = set()  # people who ask where they were after the next restart

        async def person(user: int, code: str) -> None:
            message: str | None = f"/start {code}"
            asked = 0  # the latest question the bot asked this person
            while message is not None:
                if user in returning and asked and QUESTION.search(api.sent_to(user)[-1].text or ""):
                    returning.discard(user)
                    message = "/baocao"  # back after the restart: where was I?
                assert len(pushed[user]) < MAX_MESSAGES, transcript(user)  # going round in circles
                seen = len(api.sent_to(user))
                arrivals[user].clear()
                pushed[user].append((time.monotonic(), message))
                api.push_text(user, message)
                try:
                    while not answered(user, seen):
                        await asyncio.wait_for(arrivals[user].wait(), timeout=20)
                        arrivals[user].clear()
                except TimeoutError:  # the bot went quiet (it was killed): look, then carry on
                    message = "/cuatoi" if message in ("gửi", "/cuatoi") else "/baocao"
                    continue
                latest = api.sent_to(user)[-1].text or ""
                question = QUESTION.search(latest)
                if question:
                    if latest.startswith(RESUMED):
                        resumes.append((asked, int(question.group(1))))
                    asked = int(question.group(1))
                if message == "/cuatoi":
                    if "LCA-" in latest:
                        break  # the report went through before the bot died
                    message = "/baocao"
                    continue
                message = next_message(latest)
            finished.add(user)

        def transcript(user: int) -> str:
            start = pushed[user][0][0]
            said = [(round(t - start, 2), "user", m) for t, m in pushed[user]]
            said += [(round(c.time - start, 2), "bot", (c.text or "")[:60]) for c in api.sent_to(user)]
            return "\n".join(map(str, sorted(said)))

        bot = await start_bot(env)
        kills = 0

        async def killer() -> None:
            nonlocal bot, kills
            rng = random.Random(20261124)
            for _ in range(ROUNDS):
                await asyncio.sleep(rng.uniform(0.3, 1.0))  # short: the bot now finishes 100 forms in seconds
                if len(finished) == USERS:
                    return
                bot.kill()
                await bot.wait()
                kills += 1
                bot = await start_bot(env)
                returning.update(rng.sample(sorted(set(users) - finished), min(5, USERS - len(finished))))

        killing = asyncio.create_task(killer())
        try:
            people_done = asyncio.gather(*(person(u, c) for u, c in zip(users, codes, strict=True)))
            await asyncio.wait_for(people_done, timeout=float(os.environ.get("SOAK_TIMEOUT", "900")))
        except TimeoutError:
            stuck = sorted(set(users) - finished)
            raise AssertionError(f"{len(stuck)} people not done; the first:\n{transcript(stuck[0])}") from None
        finally:
            await killing
            bot.kill()
            await bot.wait()

    print(f"soak ({framework}, {database_url.split(':')[0]}): {USERS} people, {kills} kills, {len(resumes)} resumed forms")
    assert kills == ROUNDS
    assert finished == set(users)
    assert resumes, "no form was interrupted by a kill"
    for before, resumed_at in resumes:  # the question after the last acknowledged answer (or the one
        assert before <= resumed_at <= before + 1, (before, resumed_at)  # after, if its answer was saved unacknowledged)
    app = await App.open(settings)
    try:
        async with app.db.transaction() as session:
            cases = list(await session.exec(select(Case)))
    finally:
        await app.close()
    assert len(cases) == USERS  # one case each: no answer was applied twice
    for case in cases:  # every acknowledged answer is there
        assert case.personal is not None and case.personal["child_name"] == "Nguyễn Văn An"
        assert case.groups == ["a", "d"] and case.household == "poor" and case.complete
    for user in users:  # no update answered twice
        sends = api.sent_to(user)
        assert len([c for c in sends if "Mã hồ sơ" in (c.text or "")]) <= 1
        times = [t for t, _ in pushed[user]] + [float("inf")]
        for start, end in itertools.pairwise(times):
            texts = [c.text for c in sends if start <= c.time < end and c.method == "sendMessage"]
            assert len(texts) == len(set(texts)), transcript(user)
    assert api.errors == []
