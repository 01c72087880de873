"""Scheduled jobs (morning overdue digests, 90-day re-check reminders, monthly donor digests,
retention): registered by the modules that own them, run by the bot's runner.

A job runs at most once per local day (Asia/Ho_Chi_Minh) across every worker: the day is
claimed in the database (storage.counters) before the job runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.i18n import VN_TZ

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

JobFn = Callable[["App", datetime], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    name: str
    hour: int  # local hour at or after which it runs each day
    run: JobFn


JOBS: dict[str, Job] = {}


def daily(name: str, hour: int) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        JOBS[name] = Job(name, hour, fn)
        return fn

    return register


async def run_due(app: App, now: datetime) -> list[str]:
    """Run every job whose hour has come today and that no worker has run today."""
    from storage import counters

    ran = []
    local = now.astimezone(VN_TZ)
    for job in JOBS.values():
        if local.hour < job.hour:
            continue
        async with app.db.transaction() as session:
            claimed = await counters.claim(session, f"job:{job.name}", int(local.strftime("%Y%m%d")))
        if not claimed:
            continue
        try:
            await job.run(app, now)
            ran.append(job.name)
        except Exception:
            log.exception("job %s failed", job.name)
    return ran


async def loop(app: App, stop: asyncio.Event, every: float = 60.0) -> None:
    while not stop.is_set():
        await run_due(app, app.clock())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
