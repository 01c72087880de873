"""`python -m bot run --workers N`: several bot processes on one database, in webhook mode.

Each worker serves the same port (SO_REUSEPORT: the kernel spreads connections), handles updates
with the chat row's version check and the update-id record that make order and at-most-once hold
across processes (storage/pg_unit.py), and drains the outbox through leased claims. Worker 0
registers the webhook. A worker that dies is started again; SIGTERM is passed on to all, which
stop gracefully.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from bot.settings import Settings

log = logging.getLogger(__name__)
RESTART_DELAY = 2.0


async def supervise(settings: Settings, count: int) -> int:
    if count < 1:
        raise SystemExit("--workers must be at least 1")
    if count > 1 and not settings.webhook_url:
        raise SystemExit("--workers N needs WEBHOOK_URL: Telegram allows one polling client per bot")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    workers = [asyncio.create_task(_keep_running(index, stopping)) for index in range(count)]
    codes = await asyncio.gather(*workers)
    return max(codes, default=0)


async def _keep_running(index: int, stopping: asyncio.Event) -> int:
    env = {**os.environ, "WORKER_INDEX": str(index)}
    while True:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env)
        waiter = asyncio.ensure_future(process.wait())
        stop = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.is_set():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            code = await waiter
            log.info("worker %d stopped (%s)", index, code)
            return 0 if code in (0, -signal.SIGTERM) else code
        stop.cancel()
        log.warning("worker %d exited with %s; starting it again", index, process.returncode)
        await asyncio.sleep(RESTART_DELAY)
