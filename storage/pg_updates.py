"""PostgreSQL: the connections updates run on, each update one transaction straight on asyncpg.

An update on PostgreSQL used to make about ten round trips (pre-ping's BEGIN, ping and ROLLBACK;
BEGIN; four statements through SQLAlchemy; COMMIT), and the bot spent four times its SQLite
CPU per update. Here:
- a few connections are kept for updates: no pool checkout and no pre-ping (a connection that
  died fails its statement and is dropped, and App tries the update again on a new one);
- the first statement records the update, loads the person and locks the chat (Unit.open);
- the transaction is ours, on asyncpg: an update's COMMIT carries the next one's BEGIN, so an
  update costs three round trips (open, save, commit).
A handler that asks for an ORM session gets one on the same connection; SQLAlchemy's side runs
in autocommit, so the session's statements land in this transaction and commit or roll back
with it (there is no savepoint: a session's rollback undoes nothing, the update's does).

Because BEGIN is sent at the previous commit, `now()` in SQL would be that commit's time, and
pg_stat_activity shows these connections "idle in transaction" since then: every time here comes
from Python, and the operations guide says so for monitoring.

Several workers share the database as before: the chat's row is locked for the update's
transaction, update ids are unique, and each worker has its own connections.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.unit import AsyncpgStatements, TableCodec, Unit, as_sqlalchemy_error_pg

# The next update's BEGIN goes with this one's COMMIT, in one round trip. A transaction that has
# only begun takes no snapshot and no transaction id, so an idle connection holds nothing back.
# SELECT 1 first: in a transaction a swallowed error has aborted, it fails, where COMMIT alone
# would roll back without a word and the update's answers would go out for nothing.
_COMMIT_AND_BEGIN = "SELECT 1; COMMIT; BEGIN"
APPLICATION_NAME = "chungtay updates"  # in pg_stat_activity: "idle in transaction" between updates is normal


class UpdateConnections:
    """At most `size` updates hold a connection at once; the others wait their turn, in order."""

    def __init__(self, engine: AsyncEngine, sessions: Callable[..., Any], codecs: dict[type, TableCodec[Any]],
                 size: int) -> None:
        self._engine, self._sessions, self._codecs = engine, sessions, codecs
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[AsyncConnection, Any]] = []  # (SQLAlchemy's connection, asyncpg's)
        self._closed = False

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        async with self._slots:
            conn, raw = await self._take()
            ended = False  # committed or rolled back: the connection is fit for the next update
            try:
                if not raw.is_in_transaction():  # a new connection, or the last update failed
                    with as_sqlalchemy_error_pg("BEGIN", ()):
                        await raw.execute("BEGIN")
                unit = Unit(conn, AsyncpgStatements(raw), self._sessions, self._codecs)
                try:
                    yield unit
                    await unit.save()
                    if conn.invalidated:  # SQLAlchemy saw it die: a session must not go on elsewhere
                        raise sa_exc.OperationalError("COMMIT", (), Exception("connection lost"))
                    with as_sqlalchemy_error_pg("COMMIT", ()):
                        await raw.execute(_COMMIT_AND_BEGIN)
                    ended = True
                except Exception:
                    with contextlib.suppress(Exception):
                        await unit.discard()
                    with contextlib.suppress(Exception):  # a lost connection cannot roll back: it is dropped
                        await raw.execute("ROLLBACK")
                        ended = True
                    raise
            finally:  # a cancelled update may leave a statement running: its connection is dropped too
                if ended and not self._closed:
                    self._idle.append((conn, raw))
                else:
                    await self._drop(conn)

    async def _take(self) -> tuple[AsyncConnection, Any]:
        """An idle connection the server has not closed (after a restart, all of them are), or a new one."""
        while self._idle:
            conn, raw = self._idle.pop()
            if not raw.is_closed():
                return conn, raw
            await self._drop(conn)
        return await self._connect()

    async def _connect(self) -> tuple[AsyncConnection, Any]:
        """SQLAlchemy's side in autocommit: it sends no BEGIN or COMMIT of its own, so a handler's
        ORM session works inside the update's transaction, which is ours."""
        conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.execute(f"SET application_name = '{APPLICATION_NAME}'")  # for monitoring to tell them apart
            return conn, raw
        except BaseException:
            await self._drop(conn)
            raise

    @staticmethod
    async def _drop(conn: AsyncConnection) -> None:
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    async def close(self) -> None:
        """At shutdown: idle connections back to the pool; those still in use are dropped when done."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, raw in idle:
            with contextlib.suppress(Exception):  # ends the begun transaction: the pool takes it back clean
                await raw.execute("ROLLBACK")
            with contextlib.suppress(Exception):
                await conn.close()
