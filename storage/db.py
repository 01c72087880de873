"""The database: one async engine and session factory for SQLite (default) or PostgreSQL.

SQLite runs in WAL mode with a busy timeout so the bot, the CLI and a backup can share the file.
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
import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.unit import DriverStatements, SQLiteStatements, Unit, codecs_for

_holding_writer: ContextVar[bool] = ContextVar("holding_sqlite_writer", default=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


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


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_engine(url: str, **kw: Any) -> AsyncEngine:
    """An async engine with the right settings for the backend. JSON columns go through orjson:
    the stdlib's encoder was a twentieth of the bot's CPU under load."""
    kw.setdefault("json_serializer", _json_text)
    kw.setdefault("json_deserializer", orjson.loads)
    if is_sqlite(url):
        _prepare_sqlite_file(url)
        database = make_url(url).database or ":memory:"
        kw.setdefault("async_creator", lambda: InlineSQLiteConnection(database)._connect())
        engine = create_async_engine(url, **kw)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_size", 10)
    return create_async_engine(url, **kw)


class Database:
    """Owns the engine; hands out sessions. One per process."""

    def __init__(self, url: str, **engine_kw: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kw)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # SQLite has one writer at a time; letting connections race for it makes them sleep in
        # SQLite's busy handler (up to 100 ms a try). Queue them here instead, in order.
        self._sqlite_writer = asyncio.Lock() if is_sqlite(url) else None
        self._codecs = codecs_for(self.engine.dialect)
        self._update_conn: AsyncConnection | None = None  # SQLite: one connection for updates
        self._update_raw: sqlite3.Connection | None = None

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
        async with self._sqlite_writer, self._sessions() as session, session.begin():
            token = _holding_writer.set(True)
            try:
                yield session
            finally:
                _holding_writer.reset(token)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """The transaction of one update (storage/unit.py): plain SQL for what every update
        does, an ORM session on the same transaction when a handler asks for one."""
        if self._sqlite_writer is None:
            async with self.engine.connect() as conn, conn.begin():
                unit = Unit(conn, DriverStatements(conn), self._sessions, self._codecs)
                try:
                    yield unit
                    await unit.save()
                except BaseException:
                    await unit.discard()
                    raise
            return
        if _holding_writer.get():
            raise RuntimeError("nested transaction on SQLite: it would wait for itself; pass the session down instead")
        async with self._sqlite_writer:
            token = _holding_writer.set(True)
            try:
                conn, raw = await self._sqlite_update_connection()
                unit = Unit(conn, SQLiteStatements(raw), self._sessions, self._codecs, session_commits=True)
                try:
                    yield unit
                    await unit.save()
                    unit.sql.commit()
                except BaseException:
                    await unit.discard()
                    unit.sql.rollback()
                    if conn.invalidated:
                        await self._drop_update_connection()
                    raise
            finally:
                _holding_writer.reset(token)

    async def _sqlite_update_connection(self) -> tuple[AsyncConnection, sqlite3.Connection]:
        """Kept open: checking a connection out of the pool per update costs more than the update.
        Statements go to the `sqlite3` connection under it (it begins its transaction by itself
        at the first write); SQLAlchemy's connection is used only if a handler wants a session."""
        if self._update_conn is None or self._update_conn.closed:
            self._update_conn = await self.engine.connect()
            self._update_raw = (await self._update_conn.get_raw_connection()).driver_connection._connection
        return self._update_conn, self._update_raw

    async def _drop_update_connection(self) -> None:
        conn, self._update_conn = self._update_conn, None
        if conn is not None:
            await conn.close()

    async def dispose(self) -> None:
        await self._drop_update_connection()
        await self.engine.dispose()
