"""The database: one async engine and session factory for SQLite (default) or PostgreSQL.

SQLite runs in WAL mode with a busy timeout so the bot, the CLI and a backup can share the file.

On SQLite the updates' transactions are committed in groups. Each update's work is a SAVEPOINT
inside one open transaction; the transaction commits once the event loop has run what was ready,
or, when another update joined meanwhile (the bot is busy), GROUP_COMMIT_WINDOW later, or at
GROUP_COMMIT_MAX updates. Every update still waits for the commit that holds its work before its
answers are sent, so nothing is acknowledged that a crash could undo; an update that fails rolls
back its own savepoint only, and if a commit fails, every update in it is tried again (App). A
commit was the largest single cost of an update (about 50 µs of a 0.6 ms update under load).

On PostgreSQL a person's update reads and saves its chat in statements shared with other
updates, compare-and-set on the chat's row version (storage/pg_unit.py, storage/pg_batches.py);
the inbox's writes are transactions on kept connections (storage/pg_transactions.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import jsontext, wal
from storage.pg_transactions import KeptTransactions
from storage.pg_unit import BATCH_CONNECTIONS, CHAT_TRANSACTIONS, ChatStatements
from storage.unit import SQLiteStatements, Unit, codecs_for

_holding_writer: ContextVar[bool] = ContextVar("holding_sqlite_writer", default=False)

GROUP_COMMIT_MAX = 32  # updates per commit at most
GROUP_COMMIT_WINDOW = 0.004  # seconds a busy group stays open; measured: 3-12 ms all gave the same
TRANSACTION_CONNECTIONS = 2  # PostgreSQL: kept for the inbox's transactions (storage/pg_transactions.py)


class _Group:
    """The open transaction of a group commit, and what its updates wait for."""

    def __init__(self) -> None:
        self.units = 0
        self.commit_scheduled = False
        self.lingered = False
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _fail(group: _Group, error: Exception) -> None:
    """Its updates see the error (a database error: App tries each of them again)."""
    group.committed.set_exception(error)
    group.committed.exception()  # marked retrieved: nobody may be left waiting to read it


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=1000")  # short: calls run on the event loop; the App retries
    wal.connection_pragmas(cursor)
    cursor.close()


class InlineSQLiteConnection(aiosqlite.Connection):
    """aiosqlite without its worker thread: each call runs at once, in the event loop's thread.

    A SQLite statement on a local WAL file takes microseconds; aiosqlite's thread hop per call
    (about 40 per update) cost more than the work and capped the bot at ~150 updates/s. Writers
    are already serialised by Database (one in-process writer), so nothing here waits on a lock
    held by this process; the busy timeout covers another process (a backup, the CLI).
    """

    def __init__(self, database: str) -> None:
        super().__init__(lambda: sqlite3.connect(database, check_same_thread=False), iter_chunk_size=64)

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineSQLiteConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Any:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        return None


def create_engine(url: str, **kw: Any) -> AsyncEngine:
    """An async engine with the right settings for the backend (JSON columns: storage/jsontext.py)."""
    kw.setdefault("json_serializer", jsontext.dumps)
    kw.setdefault("json_deserializer", jsontext.loads)
    if is_sqlite(url):
        _prepare_sqlite_file(url)
        database = make_url(url).database or ":memory:"
        kw.setdefault("async_creator", lambda: InlineSQLiteConnection(database)._connect())
        engine = create_async_engine(url, **kw)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kw.setdefault("pool_pre_ping", True)  # the kept connections do without (storage/pg_batches.py)
    # Kept ones leave the pool for good; 10 more for ORM transactions, 5 in overflow: 28 a worker.
    kw.setdefault("pool_size", TRANSACTION_CONNECTIONS + BATCH_CONNECTIONS + CHAT_TRANSACTIONS + 10)
    kw.setdefault("max_overflow", 5)
    return create_async_engine(url, **kw)


class Database:
    """Owns the engine; hands out sessions. One per process."""

    def __init__(self, url: str, **engine_kw: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kw)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # In an update's transaction on SQLite, a session works in a SAVEPOINT of its own: its
        # commit or rollback must not end the group's transaction (see the module).
        self._unit_sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False,
                                                 join_transaction_mode="create_savepoint")
        # SQLite has one writer at a time; letting connections race for it makes them sleep in
        # SQLite's busy handler (up to 100 ms a try). Queue them here instead, in order.
        self._sqlite_writer = asyncio.Lock() if is_sqlite(url) else None
        self._codecs = codecs_for(self.engine.dialect)
        self._pg_transactions = None if self.sqlite else KeptTransactions(
            self.engine, self._sessions, self._codecs, size=TRANSACTION_CONNECTIONS)
        self._pg_chats = None if self.sqlite else ChatStatements(self.engine, self._sessions, self._codecs)
        self._update_conn: AsyncConnection | None = None  # SQLite: one connection for updates
        self._update_raw: sqlite3.Connection | None = None
        self._group: _Group | None = None
        database = make_url(url).database if self.sqlite else None
        self._checkpointer = wal.Checkpointer(database) if database and database != ":memory:" else None
        if self._checkpointer is not None:  # every commit through SQLAlchemy; the updates' below
            event.listen(self.engine.sync_engine, "commit", lambda _connection: self._committed())

    @property
    def sqlite(self) -> bool:
        return self._sqlite_writer is not None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        if self._sqlite_writer is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        if _holding_writer.get():
            raise RuntimeError("nested transaction on SQLite: it would wait for itself; pass the session down instead")
        async with self._sqlite_writer:
            self._commit_group()  # its own connection could not write while the group is open
            async with self._sessions() as session, session.begin():
                token = _holding_writer.set(True)
                try:
                    yield session
                finally:
                    _holding_writer.reset(token)

    @asynccontextmanager
    async def chat_unit(self) -> AsyncIterator[Unit]:
        """One person's update: on PostgreSQL read and saved in statements shared with other
        updates, without a lock held meanwhile (storage/pg_unit.py); on SQLite `unit()`."""
        if self._pg_chats is not None:
            async with self._pg_chats.unit() as unit:
                yield unit
            return
        async with self.unit() as unit:
            yield unit

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """The transaction of one update (storage/unit.py): plain SQL for what every update
        does, an ORM session on the same transaction when a handler asks for one."""
        if self._pg_transactions is not None:
            async with self._pg_transactions.unit() as unit:
                yield unit
            return
        if _holding_writer.get():
            raise RuntimeError("nested transaction on SQLite: it would wait for itself; pass the session down instead")
        await self._sqlite_writer.acquire()
        token = _holding_writer.set(True)
        try:
            conn, raw = await self._sqlite_update_connection()
            group = self._open_group(raw)
            unit = Unit(conn, SQLiteStatements(raw), self._unit_sessions, self._codecs)
            await unit.sql.run("SAVEPOINT unit", ())
            try:
                yield unit
                await unit.save()
                await unit.sql.run("RELEASE unit", ())
            except BaseException:
                await unit.discard()
                self._undo_unit(raw)
                if conn.invalidated:  # the connection is gone, and the group's work with it
                    self._lose_group(sa_exc.OperationalError("connection lost", (), None))
                    await self._drop_update_connection()
                raise
            group.units += 1
        finally:
            _holding_writer.reset(token)
            self._sqlite_writer.release()
            self._settle()
        await group.committed  # answered only once its work is on disk

    def _settle(self) -> None:
        """The writer is free: commit a full group now, else once the loop has run what is ready."""
        group = self._group
        if group is None:
            return
        if group.units >= GROUP_COMMIT_MAX:
            self._commit_group()
        elif not group.commit_scheduled:
            group.commit_scheduled = True
            asyncio.get_running_loop().call_soon(self._commit_when_free, group)

    def _commit_when_free(self, group: _Group) -> None:
        if self._group is not group:
            return  # committed already (full, or by a transaction)
        if self._sqlite_writer.locked():  # type: ignore[union-attr]
            group.commit_scheduled = False  # the update holding the writer settles it when done
            return
        if group.units > 1 and not group.lingered:  # busy: more are on their way
            group.lingered = True
            asyncio.get_running_loop().call_later(GROUP_COMMIT_WINDOW, self._commit_when_free, group)
            return
        self._commit_group()

    def _open_group(self, raw: sqlite3.Connection) -> _Group:
        if self._group is None:
            if raw.in_transaction:  # left by a failure that could not roll back
                SQLiteStatements(raw).rollback()
            try:
                raw.execute("BEGIN")
            except sqlite3.Error as error:
                raise sa_exc.OperationalError("BEGIN", (), error) from error
            self._group = _Group()
        return self._group

    def _commit_group(self) -> None:
        """Commit the open group (the writer is free, so no update is half done in it)."""
        group, self._group = self._group, None
        if group is None:
            return
        assert self._update_raw is not None
        statements = SQLiteStatements(self._update_raw)
        try:
            statements.commit()
        except Exception as error:
            statements.rollback()
            _fail(group, error if isinstance(error, sa_exc.OperationalError) else sa_exc.OperationalError("COMMIT", (), error))
            return
        group.committed.set_result(None)
        self._committed()

    def _undo_unit(self, raw: sqlite3.Connection) -> None:
        """Roll back one update's savepoint; if SQLite ended the whole transaction (a disk or
        lock error can), the group is lost and its other updates are tried again."""
        try:
            raw.execute("ROLLBACK TO unit")
            raw.execute("RELEASE unit")
        except sqlite3.Error as error:
            SQLiteStatements(raw).rollback()
            self._lose_group(sa_exc.OperationalError("ROLLBACK TO unit", (), error))

    def _lose_group(self, error: Exception) -> None:
        group, self._group = self._group, None
        if group is not None:
            _fail(group, error)

    def _committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.committed()

    async def _sqlite_update_connection(self) -> tuple[AsyncConnection, sqlite3.Connection]:
        """Kept open: checking a connection out of the pool per update costs more than the update.
        Statements go to the `sqlite3` connection under it (the group's BEGIN and COMMIT too);
        SQLAlchemy's connection is used only if a handler wants a session."""
        if self._update_conn is None or self._update_conn.closed:
            self._update_conn = await self.engine.connect()
            self._update_raw = (await self._update_conn.get_raw_connection()).driver_connection._connection
            # Begun once, for good, in SQLAlchemy's eyes only (pysqlite sends nothing): sessions
            # then join it with a SAVEPOINT and never commit or roll back the group themselves.
            await self._update_conn.begin()
        return self._update_conn, self._update_raw

    async def _drop_update_connection(self) -> None:
        conn, self._update_conn = self._update_conn, None
        if conn is not None:
            await conn.close()

    async def dispose(self) -> None:
        if self._group is not None and not self._sqlite_writer.locked():  # type: ignore[union-attr]
            self._commit_group()  # normally committed already: nobody waits for the writer
        if self._checkpointer is not None:
            await self._checkpointer.close()
        await self._drop_update_connection()
        if self._pg_chats is not None:
            await self._pg_chats.close()
        if self._pg_transactions is not None:
            await self._pg_transactions.close()
        await self.engine.dispose()
