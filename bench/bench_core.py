"""Core bench: the report form through `App.handle` alone, no channel and no network.

    .venv/bin/python bench/bench_core.py [--users 1000] [--steps 20] [--database sqlite|postgres]
                                         [--concurrency 100] [--profile out.prof]

It isolates what the bot itself costs per update (database transaction, form engine, encryption,
rendering) from the channel library's cost, which `bench_telegram.py` measures end to end. Each
simulated person sends the next message once the previous one is answered; `--concurrency` people
are in flight at once (a polling batch is up to 100 updates).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.bench_telegram import fresh_database  # noqa: E402
from bot.app import App  # noqa: E402
from bot.core import Event  # noqa: E402
from bot.settings import Settings  # noqa: E402
from conversations.parsing import places  # noqa: E402
from storage import people  # noqa: E402
from tests.test_report_scenarios import FULL_REPORT  # noqa: E402


async def run(users: int, steps: int, database: str, concurrency: int, profile: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with fresh_database(database, Path(tmp) / "core.db") as url:
            await run_on(url, users, steps, concurrency, profile)


async def run_on(url: str, users: int, steps: int, concurrency: int, profile: str | None) -> None:
    """The replay through App.handle on one database."""
    settings = Settings(_env_file=None, database_url=url, data_key=Fernet.generate_key().decode(), staff_ids="1")
    app = await App.open(settings)
    async with app.db.transaction() as session:
        commune = places.search_wards(15, "Bản Hồ")[0].code
        codes = [(await people.create_invite(session, 15, commune)).code for _ in range(users)]
    scripts = {str(10_000 + u): [f"/start {codes[u]}", "/baocao", *FULL_REPORT][:steps] for u in range(users)}
    latencies: list[float] = []
    update_ids = iter(range(1, 10**9))
    gate = asyncio.Semaphore(concurrency)

    async def person(uid: str, script: list[str]) -> None:
        for text in script:
            async with gate:
                began = time.perf_counter()
                await app.handle(Event.from_text("telegram", uid, uid, text, locale="vi", update=str(next(update_ids))))
                latencies.append(time.perf_counter() - began)

    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    await asyncio.gather(*(person(uid, script) for uid, script in scripts.items()))
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    await app.close()
    latencies.sort()
    count = len(latencies)
    print(f"{make_url(url).get_backend_name()}: {count} updates in {elapsed:.2f} s = {count / elapsed:.0f} updates/s, "
      f"{elapsed / count * 1000:.3f} ms/update; p50 {statistics.median(latencies) * 1000:.1f} ms, "
      f"p99 {latencies[int(count * 0.99) - 1] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--profile", help="write cProfile stats here")
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    asyncio.run(run(args.users, args.steps, args.database, args.concurrency, args.profile))


if __name__ == "__main__":
    main()
