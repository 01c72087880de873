"""Memory and start-up of the running bot (`python -m bot run`, SQLite file, polling a loopback
Bot API server), for each framework.

    .venv/bin/python bench/bench_memory.py [--conversations 10000] [--frameworks ptb,aiogram] [--runs 3]

Start-up: seconds from launching the process to its first getUpdates request, on a database that
is already migrated (a restart), median of --runs; and the idle RSS a few seconds later.

Open conversations: N people are registered and left mid-way through the report form (seeded
through the real core, `App.handle`, in this process: /start with an invite, /baocao, the first
answers). Then the bot process is started and every one of them sends their next answer through
the Bot API server and waits for the next question, 1,000 at a time, so the process itself loads,
advances and saves each of the N open forms. Reported: the bot process's RSS idle before, its
peak while serving, and its RSS after serving all N (what it keeps once it has seen them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bench.bench_telegram import Sampler, rss_mib, wait_ready  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402
from tests.test_report_scenarios import FULL_REPORT  # noqa: E402

TOKEN = "123456:BENCH-token"
SEEDED_ANSWERS = 3  # child's name, sex, age: the form is open at the province question
FIRST_USER = 100_000


def bot_env(api: FakeTelegramAPI, workdir: Path, framework: str) -> dict[str, str]:
    key = workdir / "key"
    if not key.exists():
        key.write_text(Fernet.generate_key().decode())
    return {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "BOT_FRAMEWORK": framework,
        "BOT_API_BASE_URL": api.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        "DATA_KEY": key.read_text(),
        "STAFF_IDS": "9001",
        "LOG_LEVEL": "WARNING",
    }


async def launch(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), timeout=60)


async def migrate(env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "migrate", cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    assert await process.wait() == 0, "migrate failed"


async def startup(framework: str, workdir: Path, idle_after: float = 3.0) -> tuple[float, float]:
    """(seconds to the first getUpdates, idle RSS MiB `idle_after` seconds later)."""
    async with FakeTelegramAPI(token=TOKEN) as api:
        env = bot_env(api, workdir, framework)
        if not (workdir / "bot.db").exists():
            await migrate(env)
        launched = time.monotonic()
        process = await launch(env)
        try:
            seconds = await wait_ready(api, launched)
            await asyncio.sleep(idle_after)
            rss = rss_mib(process.pid)
        finally:
            await stop(process)
        return seconds, rss


async def seed(env: dict[str, str], people: int) -> None:
    """People registered by invite, each with the report form open after SEEDED_ANSWERS answers."""
    from bot.app import App
    from bot.core import Event
    from bot.settings import Settings
    from conversations.parsing import places
    from storage import people as people_store

    settings = Settings(_env_file=None, database_url=env["DATABASE_URL"], data_key=env["DATA_KEY"], staff_ids="9001")
    app = await App.open(settings)
    try:
        async with app.db.transaction() as session:
            commune = places.search_wards(15, "Bản Hồ")[0].code
            codes = [(await people_store.create_invite(session, 15, commune)).code for _ in range(people)]

        async def person(index: int) -> None:
            user = str(FIRST_USER + index)
            for number, text in enumerate([f"/start {codes[index]}", "/baocao", *FULL_REPORT[:SEEDED_ANSWERS]]):
                await app.handle(Event.from_text("telegram", user, user, text, update=f"seed-{user}-{number}", locale="vi"))

        batch = 200
        for start in range(0, people, batch):
            await asyncio.gather(*(person(i) for i in range(start, min(start + batch, people))))
    finally:
        await app.close()


async def serve_each_once(api: FakeTelegramAPI, people: int, concurrency: int = 1000) -> tuple[float, Counter[str]]:
    """Every person sends their next answer and waits for the bot's question: (seconds taken,
    the first line of the answers, counted, to show they were the form's next question)."""
    waiting: dict[int, asyncio.Future[None]] = {}
    answers: Counter[str] = Counter()

    def on_call(call: object) -> None:
        future = waiting.pop(getattr(call, "chat_id", None), None)  # type: ignore[arg-type]
        if future is not None and getattr(call, "ok", False) and not future.done():
            answers[(getattr(call, "text", None) or "").split("\n", 1)[0][:60]] += 1
            future.set_result(None)

    api.listeners.append(on_call)
    gate = asyncio.Semaphore(concurrency)
    answer = FULL_REPORT[SEEDED_ANSWERS]

    async def person(uid: int) -> None:
        async with gate:
            waiting[uid] = asyncio.get_running_loop().create_future()
            api.push_text(uid, answer)
            await asyncio.wait_for(waiting[uid], timeout=300)

    started = time.monotonic()
    await asyncio.gather(*(person(FIRST_USER + i) for i in range(people)))
    return time.monotonic() - started, answers


async def conversations(framework: str, workdir: Path, people: int) -> dict[str, float]:
    async with FakeTelegramAPI(token=TOKEN) as api:
        env = bot_env(api, workdir, framework)
        await migrate(env)
        seeded = time.monotonic()
        await seed(env, people)
        seed_s = time.monotonic() - seeded
        launched = time.monotonic()
        process = await launch(env)
        try:
            start_s = await wait_ready(api, launched)
            await asyncio.sleep(3.0)
            idle = rss_mib(process.pid)
            with Sampler(process.pid) as sampler:
                elapsed, answers = await serve_each_once(api, people)
                await asyncio.sleep(3.0)  # answers sent, outbox and jobs quiet
                after = rss_mib(process.pid)
        finally:
            await stop(process)
        errors = len(api.errors)
    answer, count = answers.most_common(1)[0]
    return {"seed_s": seed_s, "start_s": start_s, "idle_mib": idle, "peak_mib": sampler.peak, "after_mib": after,
            "serve_s": elapsed, "api_errors": errors, "answer": f"{count:,} × {answer!r}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--frameworks", default="ptb,aiogram")
    parser.add_argument("--runs", type=int, default=3, help="start-up runs per framework (median)")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--skip-conversations", action="store_true")
    args = parser.parse_args()
    frameworks = args.frameworks.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_startup:
            print(f"{'framework':<10}{'start s (median)':>18}  {'runs':>24}{'idle RSS MiB':>14}")
            for framework in frameworks:
                workdir = Path(tmp) / f"start-{framework}"
                workdir.mkdir()
                runs = [asyncio.run(startup(framework, workdir)) for _ in range(args.runs)]
                seconds = [s for s, _rss in runs]
                shown = " ".join(f"{s:.2f}" for s in seconds)
                print(f"{framework:<10}{statistics.median(seconds):>18.2f}  {shown:>24}{statistics.median(r for _s, r in runs):>14.0f}", flush=True)
        if not args.skip_conversations:
            print(f"\n{args.conversations:,} open conversations (seeded in-process, then each served once by the bot process)")
            print(f"{'framework':<10}{'seed s':>8}{'start s':>9}{'idle MiB':>10}{'peak MiB':>10}{'after MiB':>11}{'serve s':>9}{'errors':>8}")
            for framework in frameworks:
                workdir = Path(tmp) / f"conv-{framework}"
                workdir.mkdir()
                r = asyncio.run(conversations(framework, workdir, args.conversations))
                print(f"{framework:<10}{r['seed_s']:>8.0f}{r['start_s']:>9.2f}{r['idle_mib']:>10.0f}{r['peak_mib']:>10.0f}"
                      f"{r['after_mib']:>11.0f}{r['serve_s']:>9.1f}{r['api_errors']:>8.0f}", flush=True)
                print(f"{'':<10}answers: {r['answer']}", flush=True)


if __name__ == "__main__":
    main()
