"""Time /tomtat and /thongke on a generated national-size data set, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_summaries.py --cases 1000000
    .venv/bin/python bench/bench_summaries.py --cases 100000 --backend sqlite --repeat 20

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from conversations.categories import ARTICLE_10_GROUPS, NEEDS  # noqa: E402
from conversations.parsing import places  # noqa: E402
from storage.deadlines import emergency_deadline, plan_deadline  # noqa: E402
from storage.models import Case, Need, Person  # noqa: E402
from storage.review import CaseTrack  # noqa: E402
from storage.support import SupportDelivery  # noqa: E402

DEFAULT_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
STATUS_WEIGHTS = {"new": 3, "verified": 4, "in_support": 15, "supported": 35, "closed": 33, "rejected": 6, "duplicate": 4}
GROUP_CODES = [o.code for o in ARTICLE_10_GROUPS]
GROUP_WEIGHTS = [8, 3, 4, 14, 2, 2, 1, 6, 5, 2, 2, 1, 6, 3, 35, 6]
NEED_CODES = [o.code for o in NEEDS]
CHUNK = 20_000


@dataclass(frozen=True)
class Generated:
    cases: int
    needs: int
    reporters: list[int]


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
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
    total_needs = 0
    for start in range(0, n, CHUNK):
        cases, needs, tracks, deliveries = [], [], [], []
        for i in range(start, min(n, start + CHUNK)):
            cid = case_id + i
            province = rng.choices(provinces, weights=province_weights)[0]
            # more reports lately: the square root skews the ages towards now
            created = now - timedelta(seconds=span * rng.random() ** 1.6)
            status = _weighted(rng, STATUS_WEIGHTS)
            danger = rng.random() < 0.05
            groups = sorted(set(rng.choices(GROUP_CODES, weights=GROUP_WEIGHTS, k=rng.choice((1, 1, 1, 2, 2, 3)))))
            age = rng.randint(0, 15)
            consent = rng.choices(("yes", "no", "not_asked"), weights=(70, 10, 20))[0]
            verified = status in ("verified", "in_support", "supported", "closed")
            published = verified and status != "closed" and consent == "yes" and rng.random() < 0.35
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
                "published_at": created + timedelta(days=10) if published else None,
                "personal": rng.choice(fernet_pool), "created_at": created, "updated_at": created,
            })
            for kind in rng.sample(NEED_CODES, rng.choice((1, 1, 2, 2, 3))):
                amount = rng.choice((None, 500_000, 1_000_000, 1_500_000, 3_000_000, 12_000_000))
                pledged = 0
                if published and amount:
                    pledged = rng.choice((0, 0, amount // 2, amount, amount))
                needs.append({"id": need_id + total_needs, "case_id": cid, "kind": kind, "amount": amount, "status": "open",
                              "pledged": pledged, "received": rng.choice((0, pledged)) if pledged else 0})
                total_needs += 1
            if verified or (danger and status != "new"):
                verified_at = created + timedelta(days=rng.uniform(0.1, 6))
                plan_made = status in ("in_support", "supported", "closed") or rng.random() < 0.3
                tracks.append({
                    "case_id": cid, "verified_at": verified_at if verified else None,
                    "plan_due": plan_deadline(verified_at) if verified else None,
                    "plan_at": verified_at + timedelta(days=rng.uniform(0.5, 8)) if verified and plan_made else None,
                    "handled_at": created + timedelta(hours=rng.uniform(0.5, 14)) if danger else None,
                    "supported_at": verified_at + timedelta(days=20) if status == "supported" else None,
                    "duplicate_of": None, "verified_by": None, "checked_at": None, "reminded_at": None, "erased_at": None,
                })
            if status == "supported":
                deliveries.append({"id": support_id + len(deliveries) + start, "case_id": cid, "kind": rng.choice(NEED_CODES),
                                   "what": None, "value": rng.choice((None, 500_000, 2_000_000)),
                                   "delivered_on": (created + timedelta(days=30)).date(), "recorded_by": None,
                                   "recorded_at": created + timedelta(days=30)})
            elif danger and status == "new" and rng.random() < 0.5:
                tracks.append({"case_id": cid, "handled_at": created + timedelta(hours=rng.uniform(0.5, 14)),
                               "verified_at": None, "plan_due": None, "plan_at": None, "supported_at": None,
                               "duplicate_of": None, "verified_by": None, "checked_at": None, "reminded_at": None, "erased_at": None})
        await _insert(engine, Case.__table__, cases)
        await _insert(engine, Need.__table__, needs)
        await _insert(engine, CaseTrack.__table__, tracks)
        await _insert(engine, SupportDelivery.__table__, deliveries)
        if progress:
            print(f"\r  {min(n, start + CHUNK):,} cases", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    await _fix_sequences(engine, ["person", "child_case", "need", "support_delivery"])
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    return Generated(n, total_needs, reporter_ids)


# ---- the bench ------------------------------------------------------------------------------

COMMANDS = ["/tomtat", "/thongke", "/thongke xa", "/thongke xa lao cai", "/thongke nhom", "/thongke thang"]


async def _time(app: Any, command: str, repeat: int) -> tuple[float, float, str]:
    from bot.core import Event

    timings = []
    reply = ""
    for i in range(repeat + 1):
        event = Event.from_text("telegram", "9001", "9001", command, update=f"bench-{uuid.uuid4().hex}")
        started = time.perf_counter()
        replies = await app.handle(event)
        elapsed = (time.perf_counter() - started) * 1000
        reply = replies[0].text if replies else ""
        if i:  # the first run warms the caches
            timings.append(elapsed)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95, reply


async def run_backend(name: str, url: str, cases: int, repeat: int, show: bool) -> dict[str, tuple[float, float]]:
    from bot.app import App
    from bot.settings import Settings

    settings = Settings(_env_file=None, database_url=url, data_key=Fernet.generate_key().decode(), staff_ids="9001")
    app = await App.open(settings)
    try:
        now = app.clock()
        started = time.perf_counter()
        generated = await generate(app.db.engine, cases, now=now, progress=True)
        print(f"{name}: {generated.cases:,} cases and {generated.needs:,} needs inserted in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        results = {}
        for command in COMMANDS:
            median, p95, reply = await _time(app, command, repeat)
            results[command] = (median, p95)
            print(f"{name:10} {command:22} median {median:7.1f} ms   p95 {p95:7.1f} ms", file=sys.stderr)
            if show:
                print(reply + "\n", file=sys.stderr)
        return results
    finally:
        await app.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--show", action="store_true", help="print each command's reply once")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, tuple[float, float]]] = {}
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

    print(f"\n| command ({args.cases:,} cases) | " + " | ".join(f"{b} median / p95" for b in results) + " |")
    print("|---|" + "---|" * len(results))
    for command in COMMANDS:
        cells = [f"{results[b][command][0]:.0f} / {results[b][command][1]:.0f} ms" for b in results]
        print(f"| `{command}` | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
