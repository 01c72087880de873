"""Time /tomtat and /thongke on a generated national-size data set, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_summaries.py --cases 1000000
    .venv/bin/python bench/bench_summaries.py --cases 100000 --backend sqlite --repeat 20
    .venv/bin/python bench/bench_summaries.py --database-url sqlite+aiosqlite:///data/bench.db --cases 1000000
        (generates into that database the first time, then only times it: for a quiet moment)

Each run builds a fresh database (a SQLite file in a temporary directory; a new PostgreSQL
database next to the one in --postgres-url, dropped afterwards), migrates it, bulk-inserts
the cases, then sends the real commands through App.handle as a staff member, the way a
channel does: the figures include the queries, the formatting and the transaction. It prints
the median and the 95th percentile of --repeat runs after one warm-up run.

`generate()` is also what tests/test_staff_summaries.py uses to check that every figure
reconciles with the rows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from conversations.categories import ARTICLE_10_GROUPS, NEEDS
from conversations.parsing import places
from storage.deadlines import VN_TZ, emergency_deadline, plan_deadline
from storage.models import Case, Need, Person
from storage.review import CaseTrack
from storage.support import SupportDelivery

DEFAULT_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# Where a case is depends on its age: fresh reports wait for review, old files are mostly
# supported or closed, and a few stay stuck (the overdue ones /quahan lists).
STATUS_BY_AGE = (
    (3, {"new": 60, "verified": 25, "in_support": 10, "rejected": 3, "duplicate": 2}),
    (30, {"new": 8, "verified": 20, "in_support": 40, "supported": 20, "closed": 2, "rejected": 6, "duplicate": 4}),
    (None, {"new": 0.3, "verified": 0.7, "in_support": 12, "supported": 40, "closed": 35, "rejected": 7, "duplicate": 5}),
)
PUBLISHED_SHARE = {"verified": 0.5, "in_support": 0.35, "supported": 0.06}
GROUP_CODES = [o.code for o in ARTICLE_10_GROUPS]
GROUP_WEIGHTS = [8, 3, 4, 14, 2, 2, 1, 6, 5, 2, 2, 1, 6, 3, 35, 6]
NEED_CODES = [o.code for o in NEEDS]
CHUNK = 20_000


@dataclass(frozen=True)
class Generated:
    cases: int
    needs: int
    reporters: list[int]


def _status(rng: random.Random, age: timedelta) -> str:
    weights = next(w for days, w in STATUS_BY_AGE if days is None or age < timedelta(days=days))
    return rng.choices(list(weights), weights=list(weights.values()))[0]


async def _insert(engine: AsyncEngine, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        async with engine.begin() as connection:
            await connection.execute(insert(table), rows[i : i + CHUNK])


async def _next_id(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar_one()) + 1


async def _fix_sequences(engine: AsyncEngine, tables: list[str]) -> None:
    """Explicit ids leave PostgreSQL's sequences behind: move them past the rows."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.begin() as connection:
        for name in tables:
            await connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"))


async def generate(engine: AsyncEngine, n: int, *, now: datetime, seed: int = 1, years: float = 5.0,
                   reporters: int | None = None, progress: bool = False) -> Generated:
    """Insert `n` realistic cases in bulk: places over all 34 provinces, five years of reports,
    statuses, risks, emergencies, needs with pledges, process dates and deliveries."""
    rng = random.Random(seed)
    provinces = places.all_provinces()
    wards = {p.code: [w.code for w in places.wards_of(p.code)] for p in provinces}
    province_weights = [len(wards[p.code]) for p in provinces]
    n_reporters = reporters if reporters is not None else max(5, n // 200)

    person_id = await _next_id(engine, Person.__table__)
    people_rows = []
    for i in range(n_reporters):
        province = rng.choices(provinces, weights=province_weights)[0]
        people_rows.append({
            "id": person_id + i, "channel": "telegram", "external_id": f"gen-{seed}-{i}", "chat_id": f"gen-{seed}-{i}",
            "role": "collaborator", "locale": "vi", "province_code": province.code,
            "commune_code": rng.choice(wards[province.code]), "active": rng.random() > 0.05, "notify": True,
            "created_at": now - timedelta(days=rng.uniform(0, 365 * years)),
        })
    await _insert(engine, Person.__table__, people_rows)
    reporter_ids = [r["id"] for r in people_rows]

    fernet_pool = [{"child_name": f"Trẻ {i}", "hamlet": f"Thôn {i % 97}", "description": "x" * rng.randint(40, 400)} for i in range(64)]
    case_id = await _next_id(engine, Case.__table__)
    need_id = await _next_id(engine, Need.__table__)
    support_id = await _next_id(engine, SupportDelivery.__table__)
    span = timedelta(days=365 * years).total_seconds()
    total_needs = delivered = 0
    for start in range(0, n, CHUNK):
        cases, needs, tracks, deliveries = [], [], [], []
        for i in range(start, min(n, start + CHUNK)):
            cid = case_id + i
            province = rng.choices(provinces, weights=province_weights)[0]
            created = now - timedelta(seconds=span * rng.random() ** 1.6)  # more reports lately

            def after(delta: timedelta, created: datetime = created) -> datetime:
                return min(now, created + delta)

            status = _status(rng, now - created)
            danger = rng.random() < 0.05
            groups = sorted(set(rng.choices(GROUP_CODES, weights=GROUP_WEIGHTS, k=rng.choice((1, 1, 1, 2, 2, 3)))))
            age = rng.randint(0, 15)
            consent = rng.choices(("yes", "no", "not_asked"), weights=(70, 10, 20))[0]
            verified = status in ("verified", "in_support", "supported", "closed")
            # needs are shown to donors while help is being arranged; once a child is supported
            # most are withdrawn (met by the state's programmes or by donors)
            published = consent == "yes" and rng.random() < PUBLISHED_SHARE.get(status, 0)
            risk = None if status == "new" else rng.choices(("high", "medium", "low", None), weights=(15, 40, 40, 5))[0]
            cases.append({
                "id": cid, "code": f"GEN{seed}-{cid:09d}", "reporter_id": rng.choice(reporter_ids), "source": "chat",
                "status": status, "complete": True, "province_code": province.code,
                "commune_code": rng.choice(wards[province.code]) if rng.random() > 0.02 else None,
                "sex": rng.choice(("male", "female", "female", "male", "unknown")), "birth_year": created.year - age,
                "age_years": age, "age_estimated": rng.random() < 0.3, "groups": groups,
                "household": rng.choice(("poor", "near_poor", "neither", "unknown")), "relation": "parent",
                "danger": danger, "donor_consent": consent, "photo_consent": False,
                "priority": rng.randint(5, 100), "priority_parts": [["generated", 0]], "risk": risk,
                "respond_by": emergency_deadline(created) if danger else None,
                "published_at": after(timedelta(days=10)) if published else None,
                "personal": rng.choice(fernet_pool), "created_at": created, "updated_at": created,
            })
            for kind in rng.sample(NEED_CODES, rng.choice((1, 1, 2, 2, 3))):
                amount = rng.choice((None, 500_000, 1_000_000, 1_500_000, 3_000_000, 12_000_000))
                pledged = rng.choice((0, 0, amount // 2, amount, amount)) if published and amount else 0
                needs.append({"id": need_id + total_needs, "case_id": cid, "kind": kind, "amount": amount, "status": "open",
                              "pledged": pledged, "received": rng.choice((0, pledged)) if pledged else 0})
                total_needs += 1
            handled = after(timedelta(hours=rng.uniform(0.5, 14))) if danger and (status != "new" or rng.random() < 0.5) else None
            if verified or handled:
                verified_at = after(timedelta(days=rng.uniform(0.1, 6)))
                plan_made = status in ("in_support", "supported", "closed")  # "verified" means no plan yet
                tracks.append({
                    "case_id": cid, "verified_at": verified_at if verified else None,
                    "plan_due": plan_deadline(verified_at) if verified else None,
                    "plan_at": min(now, verified_at + timedelta(days=rng.uniform(0.5, 8))) if plan_made else None,
                    "handled_at": handled,
                    "supported_at": min(now, verified_at + timedelta(days=20)) if status == "supported" else None,
                    "duplicate_of": None, "verified_by": None, "checked_at": None, "reminded_at": None, "erased_at": None,
                })
            if status == "supported":
                deliveries.append({"id": support_id + delivered, "case_id": cid, "kind": rng.choice(NEED_CODES),
                                   "what": None, "value": rng.choice((None, 500_000, 2_000_000)),
                                   "delivered_on": after(timedelta(days=30)).astimezone(VN_TZ).date(), "recorded_by": None,
                                   "recorded_at": after(timedelta(days=30))})
                delivered += 1
        await _insert(engine, Case.__table__, cases)
        await _insert(engine, Need.__table__, needs)
        await _insert(engine, CaseTrack.__table__, tracks)
        await _insert(engine, SupportDelivery.__table__, deliveries)
        if progress:
            print(f"\r  {min(n, start + CHUNK):,} cases", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    await _fix_sequences(engine, ["person", "child_case", "need", "support_delivery"])
    if engine.dialect.name == "postgresql":  # VACUUM sets the visibility map index-only scans need
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    else:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    return Generated(n, total_needs, reporter_ids)


# ---- the bench ------------------------------------------------------------------------------

COUNTED: dict[str, int] = {}  # cases timed, per backend
COMMANDS = ["/tomtat", "/thongke", "/thongke xa", "/thongke xa lao cai", "/thongke nhom", "/thongke thang"]


@dataclass(frozen=True)
class Timing:
    median: float  # wall-clock milliseconds
    p95: float
    cpu: float  # median CPU milliseconds of this process: SQLite's work, whatever else runs on the machine
    reply: str


async def _time(app: Any, command: str, repeat: int) -> Timing:
    from bot.core import Event

    timings, cpu = [], []
    reply = ""
    for i in range(repeat + 1):
        event = Event.from_text("telegram", "9001", "9001", command, update=f"bench-{uuid.uuid4().hex}")
        started, started_cpu = time.perf_counter(), time.process_time()
        replies = await app.handle(event)
        elapsed, used = (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000
        reply = replies[0].text if replies else ""
        if i:  # the first run warms the caches
            timings.append(elapsed)
            cpu.append(used)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return Timing(statistics.median(timings), p95, statistics.median(cpu), reply)


async def run_backend(name: str, url: str, cases: int, repeat: int, show: bool, reuse: bool = False) -> dict[str, Timing]:
    from bot.app import App
    from bot.settings import Settings

    settings = Settings(_env_file=None, database_url=url, data_key=Fernet.generate_key().decode(), staff_ids="9001")
    app = await App.open(settings)
    try:
        async with app.db.engine.connect() as connection:
            existing = int((await connection.execute(select(func.count()).select_from(Case.__table__))).scalar_one())
        if reuse and existing:  # a database generated before: time again without waiting for the insert
            print(f"{name}: reusing {existing:,} cases", file=sys.stderr)
            COUNTED[name] = existing
        else:
            COUNTED[name] = cases
            started = time.perf_counter()
            generated = await generate(app.db.engine, cases, now=app.clock(), progress=True)
            print(f"{name}: {generated.cases:,} cases and {generated.needs:,} needs inserted in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        results = {}
        for command in COMMANDS:
            timing = await _time(app, command, repeat)
            results[command] = timing
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"{name:10} {command:22} median {timing.median:7.1f} ms   p95 {timing.p95:7.1f} ms   bot CPU {timing.cpu:7.1f} ms"
                  f"   (load average {load}, {os.cpu_count()} CPUs)", file=sys.stderr)
            if show:
                print(timing.reply + "\n", file=sys.stderr)
        return results
    finally:
        await app.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both", "none"), default="both")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--show", action="store_true", help="print each command's reply once")
    parser.add_argument("--database-url", help="time an existing database (generated here and kept) instead of a fresh one")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, Timing]] = {}
    if args.database_url:
        name = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
        results[name] = await run_backend(name, args.database_url, args.cases, args.repeat, args.show, reuse=True)
        args.backend = "none"
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-summaries-") as tmp:
            results["SQLite"] = await run_backend("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", args.cases, args.repeat, args.show)
    if args.backend in ("postgres", "both"):
        import asyncpg
        from sqlalchemy.engine import make_url

        base = make_url(args.postgres_url)
        admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
        name = f"bench_summaries_{uuid.uuid4().hex[:8]}"
        try:
            connection = await asyncpg.connect(admin, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            print(f"PostgreSQL not reachable at {args.postgres_url}: {exc}; skipped", file=sys.stderr)
        else:
            await connection.execute(f'CREATE DATABASE "{name}"')
            await connection.close()
            try:
                url = base.set(database=name).render_as_string(hide_password=False)
                results["PostgreSQL"] = await run_backend("PostgreSQL", url, args.cases, args.repeat, args.show)
            finally:
                connection = await asyncpg.connect(admin)
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await connection.close()

    counted = ", ".join(sorted({f"{n:,}" for n in COUNTED.values()}))
    print(f"\n| command ({counted} cases) | " + " | ".join(f"{b} median / p95 (bot CPU)" for b in results) + " |")
    print("|---|" + "---|" * len(results))
    for command in COMMANDS:
        cells = [f"{results[b][command].median:.0f} / {results[b][command].p95:.0f} ms ({results[b][command].cpu:.0f} ms)" for b in results]
        print(f"| `{command}` | " + " | ".join(cells) + " |")
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
