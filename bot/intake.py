"""Updates in, none lost: Telegram's polling loop and its webhook entry, for both libraries.

The libraries' own polling loops confirm a batch of updates (the next getUpdates offset) as soon
as it is queued, before it is handled: a bot killed with updates in hand never sees them again.
Here each batch goes into the inbox (storage/inbox.py) before the next getUpdates confirms it,
and what the inbox still holds at start is handled first. A webhook request is answered only
once its update is handled, so Telegram sends it again if the process dies first.

At most `max_in_flight` updates are handled at once. The next batch is fetched and kept while
the last one waits for room, so the bot never idles between getUpdates calls; a full house with
a batch waiting holds the next getUpdates (or the webhook request), so memory stays bounded
under any load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.delivery import DeliveryError
from storage import inbox

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 256  # 128 kept the bot waiting for room: 256 answered a fifth more updates a second (bench/README.md)
POLL_TIMEOUT = 30  # seconds a getUpdates call waits for an update
FIRST_RETRY = 0.25  # seconds after a failed getUpdates, doubling up to 30: everyone waits meanwhile

Update = dict[str, Any]
Fetch = Callable[[int | None, int], Awaitable[list[Update]]]  # (offset, timeout) -> updates
Handle = Callable[[Update], Awaitable[None]]


class Intake:
    def __init__(self, app: Any, channel: str, handle: Handle, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.app, self.channel, self.handle = app, channel, handle
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: set[int] = set()  # update ids taken and not yet handled (running or waiting for room)
        self._tasks: set[asyncio.Task[None]] = set()
        self._offset: int | None = None  # the next getUpdates confirms every update below it
        self._taken_below: int | None = None  # every update below it is in the inbox or handled
        self._released_below: int | None = None  # every update below it is gone from the inbox
        self._polling: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None  # a polled batch waiting for room

    # ---- polling ------------------------------------------------------------------------

    async def start_polling(self, fetch: Fetch) -> None:
        """Handle what a previous run left in the inbox, then poll."""
        async with self.app.db.transaction() as session:
            left = await inbox.kept(session, self.channel)
        if left:
            log.info("handling %d updates taken before the restart", len(left))
        for update in left:
            await self._start(update)
        if left:
            self._taken_below = left[-1]["update_id"] + 1
        self._polling = asyncio.create_task(self._poll(fetch))

    async def _poll(self, fetch: Fetch) -> None:
        delay = FIRST_RETRY
        while True:
            try:
                updates = await fetch(self._offset, POLL_TIMEOUT)
            except Exception as exc:  # a network error, a 409 while another process polls, a bad answer
                if isinstance(exc, DeliveryError):
                    log.warning("getUpdates failed (%s); again in %.2g s", type(exc).__name__, delay)
                else:  # never let the loop die: a bot that stops polling looks alive and hears nobody
                    log.exception("getUpdates failed; again in %.2g s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = FIRST_RETRY
            if not updates:
                continue
            fresh = [u for u in updates if u["update_id"] not in self._in_flight]
            await self._keep(fresh)
            self._in_flight.update(u["update_id"] for u in fresh)  # the inbox keeps them until handled
            self._offset = self._taken_below = updates[-1]["update_id"] + 1  # the next getUpdates confirms them
            if self._starting is not None:  # one batch at most waits for room while the next is fetched
                await self._starting
            self._starting = asyncio.create_task(self._start_all(fresh))

    async def _start_all(self, updates: list[Update]) -> None:
        for update in updates:
            await self._start(update)

    async def _keep(self, updates: list[Update]) -> None:
        """Into the inbox before they are confirmed; while the database is away, wait (Telegram
        keeps them meanwhile), and forget those already handled."""
        rows = [(u["update_id"], u) for u in updates]
        delay = 0.5
        while True:
            try:
                handled_below = self._handled_below()
                async with self.app.db.unit() as unit:
                    await inbox.keep(unit, self.channel, rows, handled_below=handled_below, now=self.app.clock(),
                                     released_below=self._released_below)
                self._released(handled_below, [update_id for update_id, _ in rows])
                return
            except Exception as exc:  # the database is away: nothing is confirmed until it is back
                log.warning("inbox not written (%s); again in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _released(self, below: int | None, kept: list[int] | None = None) -> None:
        """Committed: nothing below the mark is left in the inbox, and the next release starts
        there (storage/inbox.py says why). Updates kept again below it (Telegram sends what it
        was not told of again after a restart) move the mark down to them."""
        marks = [mark for mark in (self._released_below, below) if mark is not None]
        if marks:
            self._released_below = min(max(marks), *(kept or [max(marks)]))

    def _handled_below(self) -> int | None:
        """Every update below this id is handled: the oldest in hand, or the newest taken."""
        if self._taken_below is None:
            return None
        return min(self._in_flight, default=self._taken_below)

    async def _start(self, update: Update) -> None:
        await self._slots.acquire()  # a full house holds the caller: back-pressure
        self._in_flight.add(update["update_id"])
        task = asyncio.create_task(self._run(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, update: Update) -> None:
        try:
            await self.handle(update)
        except Exception:
            log.exception("update %s not handled", update.get("update_id"))
        finally:
            self._in_flight.discard(update["update_id"])
            self._slots.release()

    # ---- webhook ------------------------------------------------------------------------

    async def feed(self, update: Update) -> None:
        """A webhook update, handled before the request is answered (Telegram retries otherwise)."""
        async with self._slots:
            await self.handle(update)

    # ---- stopping -----------------------------------------------------------------------

    async def stop(self, grace: float = 20.0) -> None:
        """Stop taking updates and finish those in hand. Whatever is cut off stays in the inbox
        (or unconfirmed at Telegram) for the next start."""
        for task in (self._polling, self._starting):  # those not started stay in the inbox
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._polling = self._starting = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        handled_below = self._handled_below()
        if handled_below is not None:
            with contextlib.suppress(Exception):  # what stays is replayed, and dropped as seen
                async with self.app.db.unit() as unit:
                    await inbox.release_below(unit, self.channel, handled_below, self._released_below)
                self._released(handled_below)
