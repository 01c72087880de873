"""Checkpoints of SQLite's write-ahead log, on a worker thread.

Left to itself, SQLite copies the WAL back into the database file inside whichever commit finds it
over 1,000 pages: on the event loop, with an fsync of the database file. Under load that made a
commit cost twice as much on average and stalled every chat, now and then for a quarter of a
second. Here the bot's connections never checkpoint; every CHECKPOINT_EVERY commits, one PASSIVE
checkpoint runs on a thread of its own connection (readers and the writer go on meanwhile, and
the sqlite3 module lets go of the GIL while it works). When the process ends, SQLite checkpoints
on closing the last connection, as always.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 100  # commits: a few hundred pages of WAL, copied in a millisecond or two
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL file is cut back to once copied


def connection_pragmas(cursor: sqlite3.Cursor) -> None:
    """On every connection of the bot: no checkpoint inside a commit."""
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")


class Checkpointer:
    """Counts commits; every CHECKPOINT_EVERY of them, checkpoints on its own thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._commits = 0
        self._thread: ThreadPoolExecutor | None = None
        self._running: Future[None] | None = None
        self._connection: sqlite3.Connection | None = None  # used on that thread only

    def committed(self) -> None:
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY or (self._running is not None and not self._running.done()):
            return
        self._commits = 0
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-checkpoint")
        self._running = self._thread.submit(self.checkpoint)
        self._running.add_done_callback(_report)

    def checkpoint(self) -> None:
        if self._connection is None:
            self._connection = sqlite3.connect(self.path, isolation_level=None)
            self._connection.execute("PRAGMA cache_size=-64")  # a checkpoint copies pages; it needs no cache
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    async def close(self) -> None:
        if self._thread is None:
            return
        if self._running is not None:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(self._running)
        self._thread.submit(self._close_connection).result()
        self._thread.shutdown()
        self._thread = None

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _report(done: Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("WAL checkpoint failed: %s", type(done.exception()).__name__)
