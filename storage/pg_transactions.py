"""PostgreSQL: transactions on kept connections, straight on asyncpg (`Database.unit()`: polling's
inbox, and any other work that needs a plain transaction of its own without a pool checkout).

A person's update reads and saves in statements gathered with other updates' (storage/pg_unit.py);
one that needs more (plain statements of its own, a changed person) runs its transaction here,
on connections kept for that. What runs here:
- a few connections are kept: no pool checkout and no pre-ping (a connection that died fails its
  statement and is dropped, and the caller tries again on a new one);
- the transaction is ours, on asyncpg: a COMMIT carries the next transaction's BEGIN, one round
  trip for both.
A caller that asks for an ORM session gets one on the same connection; SQLAlchemy's side runs
in autocommit, so the session's statements land in this transaction and commit or roll back
with it (there is no savepoint: a session's rollback undoes nothing, the unit's does).

Because BEGIN is sent at the previous commit, `now()` in SQL would be that commit's time, and
pg_stat_activity shows these connections "idle in transaction" since then: every time here comes
from Python, and the operations guide says so for monitoring.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.pg_batches import KeptConnections
from storage.unit import AsyncpgStatements, TableCodec, Unit, as_sqlalchemy_error_pg

# The next transaction's BEGIN goes with this one's COMMIT, in one round trip. A transaction that has
# only begun takes no snapshot and no transaction id, so an idle connection holds nothing back.
# SELECT 1 first: in a transaction a swallowed error has aborted, it fails, where COMMIT alone
# would roll back without a word and the work would pass for done.
_COMMIT_AND_BEGIN = "SELECT 1; COMMIT; BEGIN"


class KeptTransactions:
    """At most `size` units hold a connection at once; the others wait their turn, in order."""

    def __init__(self, engine: AsyncEngine, sessions: Callable[..., Any], codecs: dict[type, TableCodec[Any]],
                 size: int) -> None:
        self._sessions, self._codecs = sessions, codecs
        self._connections = KeptConnections(engine, size)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        """A transaction on a kept connection (SQLAlchemy's connection, asyncpg's): committed
        when the block ends, rolled back if it raises."""
        ended = False  # committed or rolled back: the connection is fit for the next transaction
        async with self._connections.connection(keep=lambda: ended) as (conn, raw):
            if not raw.is_in_transaction():  # a new connection, or the last transaction failed
                with as_sqlalchemy_error_pg("BEGIN", ()):
                    await raw.execute("BEGIN")
            try:
                yield conn, raw
                if conn.invalidated:  # SQLAlchemy saw it die: a session must not go on elsewhere
                    raise sa_exc.OperationalError("COMMIT", (), Exception("connection lost"))
                with as_sqlalchemy_error_pg("COMMIT", ()):
                    await raw.execute(_COMMIT_AND_BEGIN)
                ended = True
            except Exception:
                with contextlib.suppress(Exception):  # a lost connection cannot roll back: it is dropped
                    await raw.execute("ROLLBACK")
                    ended = True
                raise

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        async with self.transaction() as (conn, raw):
            unit = Unit(conn, AsyncpgStatements(raw), self._sessions, self._codecs)
            try:
                yield unit
                await unit.save()
            except Exception:
                with contextlib.suppress(Exception):
                    await unit.discard()
                raise

    async def close(self) -> None:
        """At shutdown: the begun transactions are ended, so the pool takes the connections back clean."""
        await self._connections.close(before_closing="ROLLBACK")
