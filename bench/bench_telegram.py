"""Replay bench: 20,000 updates from 1,000 users doing the report form, through a loopback Bot
API server, for each framework, beside a bare echo bot of the same framework in the same run.

    .venv/bin/python bench/bench_telegram.py [--users 1000] [--steps 20] [--frameworks ptb,aiogram] [--rounds 3]

Each simulated person sends an update, waits for the bot's answer, then sends the next (as a
person does), 1,000 at once. Reported: updates/s, p50/p99 latency from an update being available
to the first answer, and the bot process's peak RSS. The bot runs as a separate process
(`python -m bot run`, SQLite file, polling) so its memory is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bench.cpu_caps import cpu_caps  # noqa: E402
from bot import event_loop  # noqa: E402
from bot.service import GC_THRESHOLDS  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402
from tests.test_report_scenarios import FULL_REPORT  # noqa: E402

TOKEN = "123456:BENCH-token"


def rss_mib(pid: int) -> float:
    """RSS of a process and its children (the workers of `run --workers N`)."""
    total = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return total
    return total + sum(rss_mib(int(child)) for child in children)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def fresh_database(kind: str, sqlite_path: Path) -> AsyncIterator[str]:
    """A new database for one run: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        for leftover in sqlite_path.parent.glob(sqlite_path.name + "*"):
            leftover.unlink()  # an earlier round's file: its rows are under another key
        yield f"sqlite+aiosqlite:///{sqlite_path}"
        return
    from tests.support import postgres

    base = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    name = f"bench_{int(time.time() * 1000) % 10**9}"
    await postgres.create_database(base, name)
    try:
        yield postgres.with_database(base, name)
    finally:
        await postgres.drop_database(base, name)


async def wait_webhook(api: FakeTelegramAPI, started: float, timeout: float = 60) -> float:
    """Seconds until the webhook is registered (worker 0 is up)."""
    while time.monotonic() - started < timeout:
        if any(c.method == "setWebhook" for c in api.calls):
            await asyncio.sleep(1.0)  # the other workers finish starting
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise TimeoutError("no webhook registered")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (the workers of `run --workers N`)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


class Sampler:
    """Peak RSS, and the CPU time the bot spent while the replay ran (steadier than updates/s,
    which moves with whatever else the two cores do)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._task = pid, 0.0, None
        self.cpu = 0.0

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mib(self.pid))
            await asyncio.sleep(0.2)

    def __enter__(self) -> Sampler:
        self._task = asyncio.create_task(self._run())
        self.cpu = -cpu_seconds(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.cpu += cpu_seconds(self.pid)


async def wait_ready(api: FakeTelegramAPI, started: float, timeout: float = 60) -> float:
    """Seconds from process start to its first getUpdates request (its start-up time)."""
    while time.monotonic() - started < timeout:
        if api.polls_started:
            return time.monotonic() - started
        await asyncio.sleep(0.005)
    raise TimeoutError("bot did not start polling")


async def replay(api: FakeTelegramAPI, scripts: dict[int, list[str]]) -> tuple[float, list[float]]:
    """Each person waits for the bot's answer before the next message, as people do."""
    latencies: list[float] = []
    waiting: dict[int, asyncio.Future[None]] = {}

    def on_call(call: object) -> None:
        future = waiting.pop(getattr(call, "chat_id", None), None)  # type: ignore[arg-type]
        if future is not None and getattr(call, "ok", False) and not future.done():
            future.set_result(None)

    api.listeners.append(on_call)

    async def person(uid: int, script: list[str]) -> None:
        loop = asyncio.get_running_loop()
        for text in script:
            waiting[uid] = loop.create_future()
            pushed = time.monotonic()
            api.push_text(uid, text)
            await asyncio.wait_for(waiting[uid], timeout=120)
            latencies.append(time.monotonic() - pushed)

    started = time.monotonic()
    await asyncio.gather(*(person(uid, script) for uid, script in scripts.items()))
    return time.monotonic() - started, latencies


def worker_pids(pid: int, workers: int) -> list[int]:
    """The processes answering updates: `run --workers N` answers in its N children."""
    if workers == 1:
        return [pid]
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def run_one(kind: str, users: int, steps: int, workdir: Path, database: str = "sqlite", workers: int = 1,
                  webhook: bool = False, worker_cpu: float | None = None) -> dict[str, float]:
    async with FakeTelegramAPI(token=TOKEN) as api, contextlib.AsyncExitStack() as cleanup:
        env = {**os.environ, "BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": api.base_url, "LOG_LEVEL": "WARNING"}
        if kind.startswith("echo"):
            workers, webhook = 1, False  # the echo baseline is one polling process
            command = [sys.executable, str(ROOT / "bench" / "echo_bot.py"), kind.removeprefix("echo-")]
            scripts = {10_000 + u: [f"tin nhắn {i}" for i in range(steps)] for u in range(users)}
        else:
            framework = kind
            url = await cleanup.enter_async_context(fresh_database(database, workdir / f"{kind}.db"))
            env.update({"BOT_FRAMEWORK": framework, "DATABASE_URL": url, "DATA_KEY": Fernet.generate_key().decode(), "STAFF_IDS": "1"})
            webhook = webhook or workers > 1
            if webhook:
                port = free_port()
                env.update({"WEBHOOK_URL": f"http://127.0.0.1:{port}/tg", "WEBHOOK_LISTEN": f"127.0.0.1:{port}", "WEBHOOK_SECRET": "bench-secret"})
            codes = await make_invites(env, users)
            scripts = {10_000 + u: [f"/start {codes[u]}", "/baocao", *FULL_REPORT][:steps] for u in range(users)}
            command = [sys.executable, "-m", "bot", "run", "--workers", str(workers)]
        launched = time.monotonic()
        log = cleanup.enter_context((workdir / f"{kind}.log").open("w+"))
        process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log)
        caps = cleanup.enter_context(cpu_caps(worker_cpu)) if worker_cpu and not kind.startswith("echo") else None
        try:
            startup = await (wait_webhook(api, launched) if webhook else wait_ready(api, launched))
            for pid in worker_pids(process.pid, workers) if caps else ():
                caps.add(pid)
            with Sampler(process.pid) as sampler:
                generator_cpu = -time.process_time()
                elapsed, latencies = await replay(api, scripts)
                generator_cpu += time.process_time()
        except Exception:
            log.seek(0)
            print(f"{kind} failed; its log ends:\n{log.read()[-3000:]}", file=sys.stderr)
            raise
        finally:
            with contextlib.suppress(ProcessLookupError):  # it may have ended by itself
                process.terminate()
            await process.wait()
        updates = sum(len(s) for s in scripts.values())
        latencies.sort()
        return {
            "updates": updates,
            "updates_per_s": updates / elapsed,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "rss_mib": sampler.peak,
            "cpu_ms": sampler.cpu * 1000 / updates,
            "generator_cpu_ms": generator_cpu * 1000 / updates,
            "startup_s": startup,
            "api_errors": len(api.errors),
            "throttled_s": caps.throttled_s() if caps else 0.0,
        }


async def make_invites(env: dict[str, str], n: int) -> list[str]:
    """Invites made directly in the database (the CLI would start a process per code)."""
    from bot.app import App
    from bot.settings import Settings
    from conversations.parsing import places
    from storage import people

    settings = Settings(_env_file=None, database_url=env["DATABASE_URL"], data_key=env["DATA_KEY"])
    app = await App.open(settings)
    try:
        async with app.db.transaction() as session:
            commune = places.search_wards(15, "Bản Hồ")[0].code
            codes = [(await people.create_invite(session, 15, commune)).code for _ in range(n)]
    finally:
        await app.close()
    return codes


HEADER = (f"{'run':<24}{'updates':>9}{'upd/s':>9}{'CPU ms':>9}{'p50 ms':>9}{'p99 ms':>9}{'RSS MiB':>9}"
          f"{'start s':>9}{'errors':>8}{'gen ms':>8}")


def row(kind: str, r: dict[str, float]) -> str:
    return (f"{kind:<24}{r['updates']:>9.0f}{r['updates_per_s']:>9.0f}{r['cpu_ms']:>9.3f}{r['p50_ms']:>9.1f}"
            f"{r['p99_ms']:>9.1f}{r['rss_mib']:>9.0f}{r['startup_s']:>9.2f}{r['api_errors']:>8.0f}{r['generator_cpu_ms']:>8.3f}"
            + (f"  (capped workers held back {r['throttled_s']:.0f} s)" if r["throttled_s"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--frameworks", default="ptb,aiogram")
    parser.add_argument("--rounds", type=int, default=3,
                        help="echo and bot alternate this many times; the ratio is the median of the rounds'")
    parser.add_argument("--httpx", action="store_true", help="also run PTB's default httpx echo")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="webhook workers (needs --database postgres)")
    parser.add_argument("--webhook", action="store_true", help="webhook even with one worker")
    parser.add_argument("--worker-cpu", type=float, default=None,
                        help="cap each worker at this share of one core (cgroups, root): shows what more workers add")
    parser.add_argument("--no-echo", action="store_true", help="only the bot (quicker, for profiling; no ratio)")
    args = parser.parse_args()
    # The load generator keeps every call it answers (tests/fakes/telegram_api.py): collected at
    # the default thresholds, those cost it more with every update. The bot's own settings.
    gc.set_threshold(*GC_THRESHOLDS)
    summary = []
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for framework in args.frameworks.split(","):
            kinds = ([] if args.no_echo else [f"echo-{framework}"]) + [framework] + (["echo-ptb-httpx"] if framework == "ptb" and args.httpx else [])
            ratios, cpu_ratios = [], []
            for round_ in range(args.rounds):
                # Alternating, because the two shared cores run at different speeds minute to minute:
                # a ratio is only fair between runs close in time. Every other round the bot goes
                # first, so a drift over the rounds favours neither.
                results = {}
                for kind in kinds if round_ % 2 == 0 else kinds[::-1]:
                    # The load generator starts each run with the heap the first run had: what
                    # earlier runs left would make its collections, and so each later run, slower.
                    gc.collect()
                    gc.freeze()
                    results[kind] = event_loop.run(run_one(kind, args.users, args.steps, Path(tmp), args.database, args.workers, args.webhook, args.worker_cpu))
                    print(row(kind, results[kind]), flush=True)
                if not args.no_echo:
                    ratios.append(results[framework]["updates_per_s"] / results[f"echo-{framework}"]["updates_per_s"])
                    cpu_ratios.append(results[f"echo-{framework}"]["cpu_ms"] / results[framework]["cpu_ms"])
            if ratios:
                summary.append(f"{framework + ' report/echo':<24}ratio {statistics.median(ratios):.2f} "
                               f"(rounds {', '.join(f'{r:.2f}' for r in ratios)}), "
                               f"CPU ratio {statistics.median(cpu_ratios):.2f} (rounds {', '.join(f'{r:.2f}' for r in cpu_ratios)})")
    if summary:
        print("\n".join(summary))


if __name__ == "__main__":
    main()
