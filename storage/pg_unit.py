"""PostgreSQL: one person's update, read and saved in statements shared with other updates.

Most updates only move their chat along a form: they read the person and the chat, and write
the chat back. On PostgreSQL both go in gathered statements (storage/pg_batches.py), so an
update costs a share of two round trips instead of three of its own. Nothing is locked while
the handler runs; the save writes only if the chat's row is still the version that was read
(its `xmin`) and records the update id with it, in one statement, so a crash never keeps one
without the other. If the chat moved meanwhile (another worker answered it; a notice changed
its menu), `ChatMoved` is raised and App runs the update again on the new state.

An update that needs more (its handler asks for plain statements or the ORM session, or the
person's row changed) runs in a transaction of its own, on a connection kept for it
(storage/pg_transactions.py). Its save writes the chat only if it is still the version read, the
person after it, and records the update id, in one statement; if the chat moved, everything the
handler wrote is rolled back with the transaction and the update runs again. An ORM session
checks first instead: its first statement locks the chat's row and checks the version, since
what the ORM writes, and in which order, is the ORM's to decide. A first contact redeeming an
invite costs 1.0 ms of CPU this way, against 2.5 ms through the ORM session (bench/README.md);
the rows of people writing for the first time are made in gathered statements too.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import attributes
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation, Person, ProcessedUpdate
from storage.pg_batches import Batcher, KeptConnections, columns
from storage.pg_transactions import KeptTransactions
from storage.unit import AsyncpgStatements, ChatMoved, Row, TableCodec, Unit, as_sqlalchemy_error_pg

BATCH_CONNECTIONS = 5  # two statements of each kind in flight (reading, saving), one making first contacts' rows
CHAT_TRANSACTIONS = 6  # kept for updates that need a transaction of their own (measured: 4 cost 3% of throughput)
_FIXED = ("id", "channel", "chat_id")  # a chat's columns that never change
_PERSON_GIVEN = ("id", "channel", "external_id", "chat_id")  # a first contact's own; the rest are defaults


OpenRequest = tuple[str, str | None, str, str]  # channel, update id, user id, chat id
Opened = tuple[bool, str | None, Row, Row]  # seen before, the chat's version, person's row, chat's row
SaveRequest = tuple[Any, ...]  # chat id, version, changing columns…, channel, update id, at
CreateRequest = tuple[str, str, str, bool, bool]  # channel, user id, chat id, person missing, chat missing


class ChatStatements:
    """The kept connections and gathered statements of one process's updates."""

    def __init__(self, engine: AsyncEngine, sessions: Callable[..., AsyncSession],
                 codecs: dict[type, TableCodec[Any]], size: int = BATCH_CONNECTIONS,
                 transactions: int = CHAT_TRANSACTIONS) -> None:
        self.sessions, self.codecs = sessions, codecs
        self._people, self._chats = codecs[Person], codecs[Conversation]
        self.changing = [name for name in self._chats.names if name not in _FIXED]  # what a save writes
        types = {c.key: c.type.compile(dialect=engine.dialect) for c in self._chats.columns}
        types["at"] = ProcessedUpdate.__table__.c.at.type.compile(dialect=engine.dialect)  # type: ignore[attr-defined]
        self._open_sql = _reading_sql(self._people, self._chats)
        self._save_sql = _saving_sql(self.changing, types)
        self._person_defaults = [name for name in self._people.names if name not in _PERSON_GIVEN]
        self._create_sql = _creating_sql(self._people, self._chats, tuple(self._person_defaults), tuple(self.changing), engine.dialect)
        self.connections = KeptConnections(engine, size)
        self.opens: Batcher[OpenRequest, Opened] = Batcher(self.connections, self._open_many)
        self.saves: Batcher[SaveRequest, bool] = Batcher(self.connections, self._save_many)
        self.creates: Batcher[CreateRequest, None] = Batcher(self.connections, self._create_many, in_flight=1)
        self.transactions = KeptTransactions(engine, sessions, codecs, transactions)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[ChatUnit]:
        unit = ChatUnit(self)
        try:
            yield unit
            await unit.save()
        except BaseException:
            with contextlib.suppress(Exception):  # the original error is the one to see
                await unit.discard()
            raise

    async def _open_many(self, raw: Any, requests: Sequence[OpenRequest]) -> list[Opened]:
        with as_sqlalchemy_error_pg(self._open_sql, ()):
            rows = await raw.fetch(self._open_sql, *columns(requests, 4))
        width = len(self._people.names)
        return [(row[0], row[1], row[2:2 + width], row[2 + width:]) for row in rows]

    async def _save_many(self, raw: Any, requests: Sequence[SaveRequest]) -> list[bool]:
        """Written or not, for each request. Two saves of one chat in a statement would write it
        once and report both (one App runs one update of a chat at a time; this is the guard):
        the second is refused, and runs again."""
        first: dict[int, int] = {}
        for position, request in enumerate(requests):
            first.setdefault(request[0], position)
        sent = [requests[position] for position in first.values()]
        with as_sqlalchemy_error_pg(self._save_sql, ()):
            rows = await raw.fetch(self._save_sql, *columns(sent, len(sent[0])))
        done = {row[0] for row in rows}
        return [request[0] in done and first[request[0]] == position for position, request in enumerate(requests)]

    async def _create_many(self, raw: Any, requests: Sequence[CreateRequest]) -> list[None]:
        """First contacts' rows, made as the models make them (one of each model built per
        statement, for its defaults); a row made meanwhile by another worker does as well. The
        defaults are shared by the statement's rows: no unique column may have one per row."""
        person = self._people.bound(Person(channel="", external_id="", chat_id=""), self._person_defaults)
        chat = self._chats.bound(Conversation(channel="", chat_id="", menu=[]), self.changing)
        rows = [(*request, *person, *chat) for request in requests]
        with as_sqlalchemy_error_pg(self._create_sql, ()):
            await raw.execute(self._create_sql, *columns(rows, len(rows[0])))
        return [None] * len(requests)

    async def close(self) -> None:
        await self.opens.close()
        await self.saves.close()
        await self.creates.close()
        await self.connections.close()
        await self.transactions.close()


class ChatUnit(Unit):
    """Unit (storage/unit.py) for a person's update on PostgreSQL: see the module."""

    def __init__(self, updates: ChatStatements) -> None:
        super().__init__(None, None, updates.sessions, updates.codecs)  # type: ignore[arg-type]  # no connection until one is needed
        self._updates = updates
        self._channel, self._update_id = "", None  # type: str, str | None
        self._person: Person | None = None
        self._chat: Conversation | None = None
        self._version: str | None = None
        self._transaction: Any = None  # the kept transaction's context, once begun (`_begin`)
        self._checked = False  # the transaction (if any) holds the chat's row, still as read
        self._moved = False  # the transaction found the chat changed since it was read

    async def open(self, channel: str, update_id: str | None, external_id: str,
                   chat_id: str) -> tuple[Person, Conversation] | None:
        """The person and the chat, created on first contact; None if the update was handled
        already. Nothing is locked: the save checks the chat's version instead."""
        self._channel, self._update_id = channel, update_id
        for _ in range(3):
            seen, version, person_row, chat_row = await self._updates.opens.submit((channel, update_id, external_id, chat_id))
            if seen:
                return None
            if person_row[0] is not None and chat_row[0] is not None:
                break
            await self._updates.creates.submit((channel, external_id, chat_id, person_row[0] is None, chat_row[0] is None))
        else:
            raise sa_exc.OperationalError("open", (), Exception("the rows were deleted as they were made"))
        self._person = self.codec(Person).instance(person_row)
        self._chat = self.codec(Conversation).instance(chat_row)
        self._version = version
        self._track(self.codec(Person), self._person)
        self._track(self.codec(Conversation), self._chat)
        if self._person.chat_id != chat_id:
            self._person.chat_id = chat_id
        return self._person, self._chat

    # ---- when a handler needs more: a transaction of its own ------------------------------

    @property
    def sql(self) -> _OwnStatements:
        """Plain statements in the unit's own transaction (begun on first use). Not for the
        chat's own row: the save writes it, checking it is still the version read, which a write
        here would change for good (the update would run again until it gave up)."""
        return _OwnStatements(self)  # made on each use: kept, it would tie the unit in a cycle

    async def _begin(self) -> AsyncpgStatements:
        """The unit's own transaction, on a kept connection. Nothing is locked yet: the save
        checks the chat's version (or the ORM session's first statement does: `_new_session`)."""
        if self._transaction is None:
            transaction = self._updates.transactions.transaction()
            self.conn, raw = await transaction.__aenter__()
            self._transaction, self._sql = transaction, AsyncpgStatements(raw)
        return self._sql

    def _new_session(self) -> AsyncSession:
        """The ORM session, on the unit's own transaction if plain statements began it, else on
        a transaction of the session's own. Its first statement locks the chat's row and checks
        its version: what the ORM writes, and in which order, is the ORM's to decide."""
        session = self._sessions(bind=self.conn) if self._transaction is not None else self._sessions()
        event.listen(session.sync_session, "after_begin", self._hold_chat)
        return session

    def _hold_chat(self, _session: Any, _transaction: Any, connection: Any) -> None:
        """First thing in the session's transaction: lock the chat's row, and go again if it moved."""
        if self._chat is None:
            return
        found = connection.execute(
            text("SELECT 1 FROM conversation WHERE id = :id AND xmin::text = :version FOR UPDATE"),
            {"id": self._chat.id, "version": self._version},
        ).first()
        if found is None:
            self._moved = True
            raise ChatMoved()
        self._checked = True

    # ---- saving ----------------------------------------------------------------------------

    async def save(self) -> None:
        if self._chat is None:  # a redelivery: nothing was read, nothing to write
            return
        if self._moved:
            raise ChatMoved()
        if self._session is not None:
            await self._save_through_session()
        elif self._transaction is not None or self._person_changed():
            statements = await self._begin()  # the person changed (last seen, a name): plain statements will do
            if await statements.one(*self._saving_statement()) is None:
                raise ChatMoved()  # moved, or handled meanwhile elsewhere: run again
        else:
            if not await self._updates.saves.submit(self._save_request()):
                raise ChatMoved()
            return
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            await transaction.__aexit__(None, None, None)  # commits

    def _person_changed(self) -> bool:
        before = next(before for obj, before in self._tracked if obj is self._person)
        return bool(self.codec(Person).changes(self._person, before))

    async def _save_through_session(self) -> None:
        """What the ORM changed, the chat written even if unchanged (a new version for others
        to see), after the session's first statement checked it; then the update id recorded."""
        session = self._session
        assert session is not None
        attributes.flag_modified(self._chat, "menu")
        await session.flush()
        if not self._checked:  # the check's error was swallowed by a handler
            raise ChatMoved()
        if self._update_id is not None:
            at = self.codec(ProcessedUpdate).bind_this_second("at")
            if await self.sql.one(_RECORD_UPDATE, (self._channel, self._update_id, at)) is None:
                raise ChatMoved()  # handled meanwhile elsewhere: run again, which finds it seen
        await session.commit()  # in the unit's own transaction, SQLAlchemy's side is in autocommit: nothing more
        await session.close()

    def _saving_statement(self) -> tuple[str, list[Any]]:
        """`_own_saving_sql` for what changed, with its parameters."""
        chat, person = self._chat, self._person
        assert chat is not None and person is not None
        befores = {id(obj): before for obj, before in self._tracked}
        chats, people = self.codec(Conversation), self.codec(Person)
        chat_changes = chats.changes(chat, befores[id(chat)]) or {"menu": chat.menu}  # written even if unchanged
        person_changes = people.changes(person, befores[id(person)])
        sql = _own_saving_sql(tuple(chat_changes), tuple(person_changes), self._update_id is not None)
        params = [*(chats.bind(name, value) for name, value in chat_changes.items()), chat.id, self._version,
                  *(people.bind(name, value) for name, value in person_changes.items())]
        if person_changes:
            params.append(person.id)
        if self._update_id is not None:
            params += [self._channel, self._update_id, self.codec(ProcessedUpdate).bind_this_second("at")]
        return sql, params

    async def discard(self) -> None:
        """After a failure: the session's work and the unit's own transaction are rolled back."""
        try:
            await super().discard()
        finally:
            if self._transaction is not None:
                transaction, self._transaction = self._transaction, None
                failed = ChatMoved() if self._moved else sa_exc.InvalidRequestError("the update failed")
                await transaction.__aexit__(type(failed), failed, None)  # rolls back

    def _save_request(self) -> SaveRequest:
        chat = self._chat
        assert chat is not None
        at = self.codec(ProcessedUpdate).bind_this_second("at")
        return (chat.id, self._version, *self.codec(Conversation).bound(chat, self._updates.changing),
                self._channel, self._update_id, at)


_RECORD_UPDATE = "INSERT INTO processed_update (channel, update_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1"


@functools.lru_cache(maxsize=64)
def _own_saving_sql(chat_columns: tuple[str, ...], person_columns: tuple[str, ...], record: bool) -> str:
    """The save of a unit's own transaction, `?` placeholders in this order: the chat's columns,
    its id and version; the person's columns and id; the update's channel, id and time. A row
    when written (and the update id new). The chat first and the person only after it, the order
    an ORM session's update takes them in (it locks the chat first). Rows the handler's own
    statements locked before (a redeemed invite) come first in any case: a handler that locks
    such a row after its chat, on the ORM path, could deadlock with this one (PostgreSQL would
    end one, and it would run again)."""
    chat = f"chat AS (UPDATE conversation SET {', '.join(f'{name} = ?' for name in chat_columns)} " \
           "WHERE id = ? AND xmin::text = ? RETURNING id)"
    person = (f", person AS (UPDATE person SET {', '.join(f'{name} = ?' for name in person_columns)} "
              "WHERE id = ? AND EXISTS (SELECT 1 FROM chat))") if person_columns else ""
    last = ("INSERT INTO processed_update (channel, update_id, at) SELECT ?, ?, ? FROM chat ON CONFLICT DO NOTHING RETURNING 1"
            if record else "SELECT 1 FROM chat")
    return f"WITH {chat}{person} {last}"


class _OwnStatements:
    """`unit.sql` of a ChatUnit (a redeemed invite, say): in the unit's own transaction, straight
    on its asyncpg connection; in the ORM session's, if the session began it."""

    def __init__(self, unit: ChatUnit) -> None:
        self._unit = unit

    async def _raw(self) -> AsyncpgStatements:
        unit = self._unit
        if unit._session is not None and unit._transaction is None:
            connection = await unit._session.connection()
            return AsyncpgStatements((await connection.get_raw_connection()).driver_connection)
        return await unit._begin()

    async def one(self, sql: str, params: Row) -> Row | None:
        return await (await self._raw()).one(sql, params)

    async def run(self, sql: str, params: Row) -> None:
        await (await self._raw()).run(sql, params)

    async def many(self, sql: str, rows: Sequence[Row]) -> None:
        await (await self._raw()).many(sql, rows)


@functools.lru_cache(maxsize=4)
def _reading_sql(people: TableCodec[Person], chats: TableCodec[Conversation]) -> str:
    """For each (channel, update id, user id, chat id): seen before, the chat's version, the
    person's columns, the chat's (NULLs where there is no row yet), in the order asked."""
    person_columns = ", ".join(f"p.{c.name}" for c in people.columns)
    chat_columns = ", ".join(f"c.{c.name}" for c in chats.columns)
    return (
        "SELECT i.update_id IS NOT NULL AND EXISTS (SELECT 1 FROM processed_update u "
        "  WHERE u.channel = i.channel AND u.update_id = i.update_id), "
        f"c.xmin::text, {person_columns}, {chat_columns} "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS i(channel, update_id, external_id, chat_id, n) "
        "LEFT JOIN person p ON p.channel = i.channel AND p.external_id = i.external_id "
        "LEFT JOIN conversation c ON c.channel = i.channel AND c.chat_id = i.chat_id "
        "ORDER BY i.n"
    )


@functools.lru_cache(maxsize=4)
def _creating_sql(people: TableCodec[Person], chats: TableCodec[Conversation], person_defaults: tuple[str, ...],
                  chat_defaults: tuple[str, ...], dialect: Any) -> str:
    """Make the rows of each (channel, user id, chat id) that are missing (person, chat), with
    the models' defaults; rows another worker made meanwhile stay as they are. In key order, so
    two workers making the same new rows wait for each other instead of deadlocking."""
    types = {**{f"p_{c.key}": c.type.compile(dialect=dialect) for c in people.columns},
             **{f"c_{c.key}": c.type.compile(dialect=dialect) for c in chats.columns}}
    names = ["channel", "external_id", "chat_id", "new_person", "new_chat",
             *(f"p_{name}" for name in person_defaults), *(f"c_{name}" for name in chat_defaults)]
    array_types = {"channel": "text", "external_id": "text", "chat_id": "text", "new_person": "bool", "new_chat": "bool", **types}
    arrays = ", ".join(f"${i}::{array_types[name]}[]" for i, name in enumerate(names, start=1))
    return (
        f"WITH i AS (SELECT * FROM unnest({arrays}) AS t({', '.join(names)})), "
        f"p AS (INSERT INTO person (channel, external_id, chat_id, {', '.join(person_defaults)}) "
        f"  SELECT channel, external_id, chat_id, {', '.join(f'p_{name}' for name in person_defaults)} FROM i "
        "  WHERE new_person ORDER BY channel, external_id ON CONFLICT DO NOTHING) "
        f"INSERT INTO conversation (channel, chat_id, {', '.join(chat_defaults)}) "
        f"  SELECT channel, chat_id, {', '.join(f'c_{name}' for name in chat_defaults)} FROM i "
        "  WHERE new_chat ORDER BY channel, chat_id ON CONFLICT DO NOTHING"
    )


def _saving_sql(changing: list[str], types: dict[str, str]) -> str:
    """Write each chat that is still the version read, and record its update id; the ids written.
    Rows are locked first, skipping any another transaction holds (it is about to change them:
    those updates run again), so two workers' statements never wait for each other, nor deadlock."""
    names = ["id", "version", *changing, "channel", "update_id", "at"]
    array_types = {"id": "int", "version": "text", "channel": "text", "update_id": "text",
                   "at": types["updated_at"], **{name: types[name] for name in changing}}
    arrays = ", ".join(f"${i}::{array_types[name]}[]" for i, name in enumerate(names, start=1))
    assignments = ", ".join(f"{name} = i.{name}" for name in changing)
    return (
        f"WITH i AS (SELECT * FROM unnest({arrays}) AS t({', '.join(names)})), "
        "locked AS (SELECT c.id FROM conversation c JOIN i ON c.id = i.id AND c.xmin = i.version::xid "
        "  FOR UPDATE OF c SKIP LOCKED), "
        f"done AS (UPDATE conversation c SET {assignments} FROM i "
        "  WHERE c.id = i.id AND c.id IN (SELECT id FROM locked) RETURNING c.id), "
        "fresh AS (INSERT INTO processed_update (channel, update_id, at) "
        "  SELECT i.channel, i.update_id, i.at FROM i JOIN done ON done.id = i.id WHERE i.update_id IS NOT NULL "
        "  ON CONFLICT DO NOTHING) "
        "SELECT id FROM done"
    )
