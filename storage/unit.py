"""One update's unit of work: the statements every update runs, in plain SQL, on one transaction.

Every message a person sends records its update id, loads the person and the chat's state, and
saves the state back. Through the ORM those four statements cost about 1.5 ms of CPU per update,
five times what the channel library itself costs; as plain SQL they cost tens of microseconds
(the calls go straight to the `sqlite3` connection, or to asyncpg's). Handlers still get ORM objects and
an ORM session: the session is created only when a handler asks for it, on the same connection
and transaction, with the person and chat attached to it, so everything still commits or rolls
back together. On PostgreSQL a person's update is a ChatUnit (storage/pg_unit.py), which reads
and saves in statements shared with other updates.

Column lists, defaults and type conversions (encryption, UTC times, JSON) come from the models,
so a new column needs no change here.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import attributes, make_transient_to_detached
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation, InboxUpdate, Invite, Person, ProcessedUpdate

if TYPE_CHECKING:  # imported when a PostgreSQL unit is made: a SQLite bot starts without it
    import asyncpg

Model = TypeVar("Model", bound=SQLModel)
Row = Sequence[Any]


class SQLiteStatements:
    """Statements on the raw `sqlite3` connection under the SQLAlchemy one: same transaction,
    no per-call machinery. Errors are raised as SQLAlchemy's, so callers handle one family."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    async def one(self, sql: str, params: Row) -> Row | None:
        with _as_sqlalchemy_error(sql, params):
            return self.raw.execute(sql, params).fetchone()

    async def run(self, sql: str, params: Row) -> None:
        await self.one(sql, params)

    async def many(self, sql: str, rows: Sequence[Row]) -> None:
        with _as_sqlalchemy_error(sql, ()):
            self.raw.executemany(sql, rows)

    def commit(self) -> None:
        """Commit what is open (Database commits a group of updates with it)."""
        if not self.raw.in_transaction:
            return
        with _as_sqlalchemy_error("COMMIT", ()):
            self.raw.commit()

    def rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # nothing begun, or the connection is gone
            self.raw.rollback()


@contextlib.contextmanager
def _as_sqlalchemy_error(sql: str, params: Row) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:
        raise sa_exc.OperationalError(sql, params, error) from error
    except sqlite3.IntegrityError as error:
        raise sa_exc.IntegrityError(sql, params, error) from error


class AsyncpgStatements:
    """Statements straight on the asyncpg connection under the SQLAlchemy one, in the update's
    transaction (begun and committed by storage/pg_transactions.py, or a ChatUnit's session:
    storage/pg_unit.py). Through SQLAlchemy each statement also went through a greenlet,
    a second prepared-statement cache and a result object; with pre-ping's three round trips,
    that was most of an update's cost on PostgreSQL. Errors are raised as SQLAlchemy's."""

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw

    async def one(self, sql: str, params: Row) -> Row | None:
        with as_sqlalchemy_error_pg(sql, params):
            return await self.raw.fetchrow(_numbered(sql), *params)

    async def run(self, sql: str, params: Row) -> None:
        with as_sqlalchemy_error_pg(sql, params):
            await self.raw.execute(_numbered(sql), *params)

    async def many(self, sql: str, rows: Sequence[Row]) -> None:
        if rows:
            with as_sqlalchemy_error_pg(sql, ()):
                await self.raw.executemany(_numbered(sql), rows)


@functools.lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's `$1, $2…` (the statements here hold no literal `?`)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))


# SQLSTATE classes worth waiting for: connection (08), deadlock and serialisation (40), out of
# resources (53), lock not available (55), server shutting down or starting (57).
_TRANSIENT_SQLSTATES = ("08", "40", "53", "55", "57")


@contextlib.contextmanager
def as_sqlalchemy_error_pg(sql: str, params: Row) -> Iterator[None]:
    """asyncpg's errors as SQLAlchemy's: transient ones as OperationalError, which App retries."""
    import asyncpg

    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as error:
        raise sa_exc.IntegrityError(sql, params, error) from error
    except asyncpg.InvalidCachedStatementError as error:  # the schema changed under a prepared statement: asyncpg re-prepares on the retry
        raise sa_exc.OperationalError(sql, params, error) from error
    except asyncpg.PostgresError as error:
        if (error.sqlstate or "").startswith(_TRANSIENT_SQLSTATES):
            raise sa_exc.OperationalError(sql, params, error) from error
        raise sa_exc.ProgrammingError(sql, params, error) from error
    except (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as error:
        if isinstance(error, ValueError):  # a value of the wrong type, refused before sending: a bug, not worth waiting for
            raise sa_exc.DataError(sql, params, error) from error
        raise sa_exc.OperationalError(sql, params, error) from error  # the connection is gone or unusable


class ChatMoved(sa_exc.OperationalError):
    """The chat's row changed between reading and saving (storage/pg_unit.py): App runs the
    update again, on the new state. An OperationalError, so every retry path knows it."""

    def __init__(self) -> None:
        super().__init__("save", (), Exception("the chat changed meanwhile; the update is run again"))


class TableCodec(Generic[Model]):
    """Rows of one model's table to ORM instances and back, with the columns' own conversions."""

    def __init__(self, model: type[Model], dialect: Dialect) -> None:
        self.model = model
        self.table = model.__table__  # type: ignore[attr-defined]
        self.columns = list(self.table.columns)
        self.names = [c.key for c in self.columns]
        self._manager = attributes.manager_of_class(model)
        self._load = [c.type._cached_result_processor(dialect, None) for c in self.columns]
        self._store = {c.key: c.type._cached_bind_processor(dialect) for c in self.columns}
        self._second: tuple[int, Any] = (-1, None)
        self.select = f"SELECT {', '.join(c.name for c in self.columns)} FROM {self.table.name}"

    def instance(self, row: Row) -> Model:
        """Build the instance the way the ORM's loader does (no validation: the row is ours)."""
        obj = self._manager.new_instance()
        values = obj.__dict__
        for name, load, value in zip(self.names, self._load, row, strict=True):
            values[name] = load(value) if load is not None and value is not None else value
        return obj

    def with_id(self, obj: Model, id_: int) -> Model:
        """A just-inserted row as an instance unknown to any session (like one from `instance`)."""
        fresh = self._manager.new_instance()
        fresh.__dict__.update({name: obj.__dict__.get(name) for name in self.names}, id=id_)
        return fresh

    def bound(self, obj: Model, names: Sequence[str]) -> list[Any]:
        """Columns of an instance as the database stores them, in the order given."""
        values = obj.__dict__
        return [self.bind(name, values.get(name)) for name in names]

    def bind(self, name: str, value: Any) -> Any:
        store = self._store[name]
        return store(value) if store is not None else value

    def bind_this_second(self, name: str) -> Any:
        """Now, to the second, as `name` stores it: converted once a second (converting a datetime
        for SQLite cost as much as the INSERT it was for). For times where a second is enough."""
        second = int(time.time())
        if self._second[0] != second:
            self._second = (second, self.bind(name, datetime.fromtimestamp(second, UTC)))
        return self._second[1]

    def snapshot(self, obj: Model) -> dict[str, Any]:
        return {name: _copy(obj.__dict__.get(name)) for name in self.names}

    def changes(self, obj: Model, before: dict[str, Any]) -> dict[str, Any]:
        now = obj.__dict__
        return {name: now.get(name) for name in self.names if now.get(name) != before[name]}


def assign(row: SQLModel, **values: Any) -> None:
    """Set columns of a row without SQLModel's assignment machinery (pydantic's checks and the
    ORM's events: about 8 µs a column, three or four columns every update). A row that is in a
    session is flagged, so its flush writes them; a row of the unit's plain path is compared
    with its snapshot when saved (Unit.save) and needs nothing more."""
    row.__dict__.update(values)
    if attributes.instance_state(row).session_id is not None:
        for name in values:
            attributes.flag_modified(row, name)


def _copy(value: Any) -> Any:
    """Mutable column values (JSON lists) are copied so in-place edits show up as changes."""
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


class Unit:
    """The transaction of one update. Use `Database.unit()` to get one."""

    def __init__(self, conn: AsyncConnection, statements: Any, sessions: Any,
                 codecs: dict[type, TableCodec[Any]]) -> None:
        self.conn, self._sql, self._sessions, self._codecs = conn, statements, sessions, codecs
        # The session's commit never ends the update's transaction. SQLite: the session works
        # in a SAVEPOINT of its own inside the group's transaction (storage/db.py), which its
        # commit releases. PostgreSQL: SQLAlchemy's side is in autocommit inside the unit's
        # transaction (storage/pg_transactions.py), so its commit only flushes; a ChatUnit's
        # session is an ordinary one, committed by its save with the update id (storage/pg_unit.py).
        self._tracked: list[tuple[Any, dict[str, Any]]] = []
        self._session: AsyncSession | None = None

    @property
    def sql(self) -> Any:
        """Plain statements in this unit's transaction (SQLiteStatements or AsyncpgStatements)."""
        return self._sql

    def codec(self, model: type[Model]) -> TableCodec[Model]:
        """Column conversions of a table this module knows (for plain SQL elsewhere in storage/)."""
        return self._codecs[model]

    # ---- the statements of every update ------------------------------------------------------

    async def open(self, channel: str, update_id: str | None, external_id: str,
                   chat_id: str) -> tuple[Person, Conversation] | None:
        """What every update starts with: its id recorded (None if it was processed already),
        the person and the chat's state, each created on first contact. (On PostgreSQL a
        person's update reads them in statements shared with others: storage/pg_unit.py.)"""
        if update_id is not None and not await self.first_time(channel, update_id):
            return None
        person = await self.person(channel, external_id, chat_id)
        return person, await self.conversation(channel, chat_id)

    async def first_time(self, channel: str, update_id: str) -> bool:
        """Record the update id; False if it was already processed (a redelivery)."""
        codec = self._codecs[ProcessedUpdate]
        row = await self.sql.one(
            "INSERT INTO processed_update (channel, update_id, at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING update_id",
            (channel, update_id, codec.bind_this_second("at")),
        )
        return row is not None

    async def person(self, channel: str, external_id: str, chat_id: str) -> Person:
        """The person behind a channel user id, created on first contact; tracked for saving."""
        codec = self._codecs[Person]
        row = await self.sql.one(f"{codec.select} WHERE channel = ? AND external_id = ?", (channel, external_id))
        if row is None:
            person = await self._insert(codec, Person(channel=channel, external_id=external_id, chat_id=chat_id))
        else:
            person = codec.instance(row)
        self._track(codec, person)
        if person.chat_id != chat_id:
            person.chat_id = chat_id
        return person

    async def conversation(self, channel: str, chat_id: str) -> Conversation:
        """The chat's state row, created on first use (SQLite has one writer: no lock needed)."""
        codec = self._codecs[Conversation]
        row = await self.sql.one(f"{codec.select} WHERE channel = ? AND chat_id = ?", (channel, chat_id))
        if row is None:
            chat = await self._insert(codec, Conversation(channel=channel, chat_id=chat_id, menu=[]))
        else:
            chat = codec.instance(row)
        self._track(codec, chat)
        return chat

    async def _insert(self, codec: TableCodec[Model], obj: Model) -> Model:
        names = [n for n in codec.names if n != "id"]
        values = codec.bound(obj, names)
        placeholders = ", ".join("?" for _ in names)
        row = await self.sql.one(
            f"INSERT INTO {codec.table.name} ({', '.join(names)}) VALUES ({placeholders}) RETURNING id", values
        )
        assert row is not None
        return codec.with_id(obj, row[0])

    def _track(self, codec: TableCodec[Any], obj: Any) -> None:
        self._tracked.append((obj, codec.snapshot(obj)))

    # ---- the ORM, when a handler needs more than that ---------------------------------------

    @property
    def session(self) -> AsyncSession:
        """An ORM session on this transaction, made on first use; the tracked rows join it."""
        if self._session is None:
            self._session = self._new_session()
            for obj, before in self._tracked:
                codec = self._codecs[type(obj)]
                changed = codec.changes(obj, before)
                make_transient_to_detached(obj)  # persistent as it is now, without a SELECT
                self._session.add(obj)
                for name in changed:  # but what changed before it joined must still be written
                    attributes.flag_modified(obj, name)
        return self._session

    def _new_session(self) -> AsyncSession:
        return self._sessions(bind=self.conn)

    async def save(self) -> None:
        """Write what changed: through the session if one was used, else one UPDATE per row."""
        if self._session is not None:
            await self._session.commit()
            await self._session.close()
            return
        for obj, before in self._tracked:
            codec = self._codecs[type(obj)]
            changed = codec.changes(obj, before)
            if changed:
                names = list(changed)
                assignments = ", ".join(f"{n} = ?" for n in names)
                params = [codec.bind(n, changed[n]) for n in names] + [obj.id]
                await self.sql.run(f"UPDATE {codec.table.name} SET {assignments} WHERE id = ?", params)

    async def discard(self) -> None:
        """After a failure: the session's work is rolled back with the transaction."""
        if self._session is not None:
            await self._session.rollback()
            await self._session.close()


def codecs_for(dialect: Dialect) -> dict[type, TableCodec[Any]]:
    return {model: TableCodec(model, dialect) for model in (Person, Conversation, ProcessedUpdate, InboxUpdate, Invite)}
