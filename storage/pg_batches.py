"""PostgreSQL: the statements every update runs, sent for many updates at once.

Each statement to PostgreSQL costs the bot a socket write and an event-loop wake-up, and the
server a wake-up of its own; measured, those were about a fifth of the bot's CPU per update. So the
two statements every update needs, reading where its chat is and saving where it went, are
gathered: requests made while the previous statement of their kind is on the wire go together
in the next one (as group commit does on SQLite, without the wait: a lone update goes at once).

No lock is held while such a handler runs. The save is compare-and-set on the chat row's `xmin`
(PostgreSQL's own row version, changed by any write from anywhere, so nothing else has to
cooperate): if the chat moved meanwhile, say another worker answered it, nothing is written
and the update is run again (storage/pg_unit.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.unit import Row, as_sqlalchemy_error_pg

Request = TypeVar("Request")
Result = TypeVar("Result")

APPLICATION_NAME = "chungtay updates"  # in pg_stat_activity, to tell the bot's kept connections apart
MOST_PER_STATEMENT = 64  # requests in one statement at most
STATEMENTS_IN_FLIGHT = 2  # per kind: while one is on the wire, the next gathers


class KeptConnections:
    """A few connections kept out of SQLAlchemy's pool for good: no checkout and no pre-ping.
    One the server closed (a restart closes all) is skipped; one that failed is dropped."""

    def __init__(self, engine: AsyncEngine, size: int) -> None:
        self._engine = engine
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[AsyncConnection, Any]] = []  # (SQLAlchemy's connection, asyncpg's)
        self.closed = False

    @asynccontextmanager
    async def connection(self, keep: Callable[[], bool] | None = None) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        """A connection for one use. It goes back if `keep()` says so, or without `keep`, if the
        block ended well: a failed or cancelled use may leave a statement running."""
        async with self._slots:
            conn, raw = await self._take()
            ended_well = False
            try:
                yield conn, raw
                ended_well = True
            finally:
                if (keep() if keep is not None else ended_well) and not self.closed:
                    self._idle.append((conn, raw))
                else:
                    await self.drop(conn)

    async def _take(self) -> tuple[AsyncConnection, Any]:
        if self.closed:
            raise sa_exc.OperationalError("connect", (), Exception("shutting down"))
        while self._idle:
            conn, raw = self._idle.pop()
            if not raw.is_closed():
                return conn, raw
            await self.drop(conn)
        return await self._connect()

    async def _connect(self) -> tuple[AsyncConnection, Any]:
        """SQLAlchemy's side in autocommit: it sends no BEGIN or COMMIT of its own."""
        conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            raw = (await conn.get_raw_connection()).driver_connection
            with as_sqlalchemy_error_pg("SET", ()):
                await raw.execute(f"SET application_name = '{APPLICATION_NAME}'")
            return conn, raw
        except BaseException:
            await self.drop(conn)
            raise

    @staticmethod
    async def drop(conn: AsyncConnection) -> None:
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    async def close(self, before_closing: str = "") -> None:
        """At shutdown: idle connections back to the pool; those in use are dropped when done."""
        self.closed = True
        idle, self._idle = self._idle, []
        for conn, raw in idle:
            if before_closing:
                with contextlib.suppress(Exception):
                    await raw.execute(before_closing)
            with contextlib.suppress(Exception):
                await conn.close()


Run = Callable[[Any, Sequence[Request]], Awaitable[Sequence[Result]]]


class Batcher(Generic[Request, Result]):
    """One kind of statement for many requests: those made while earlier statements are on the
    wire (or in the same turn of the event loop) go together in the next one."""

    def __init__(self, connections: KeptConnections, run: Run[Request, Result],
                 in_flight: int = STATEMENTS_IN_FLIGHT, most: int = MOST_PER_STATEMENT) -> None:
        self._connections, self._run_statement = connections, run
        self._in_flight, self._most = in_flight, most
        self._waiting: list[tuple[Request, asyncio.Future[Result]]] = []
        self._running = 0
        self._scheduled = False
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, request: Request) -> Result:
        if self._closed:
            raise sa_exc.OperationalError("batch", (), Exception("shutting down"))
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        self._schedule()
        return await future

    def _schedule(self) -> None:
        """Flush on the loop's next turn, so what this turn asks for goes in the same statement."""
        if self._waiting and not self._scheduled and self._running < self._in_flight and not self._closed:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        while self._waiting and self._running < self._in_flight and not self._closed:
            batch, self._waiting = self._waiting[:self._most], self._waiting[self._most:]
            batch = [(request, future) for request, future in batch if not future.cancelled()]
            if not batch:
                continue
            self._running += 1
            task = asyncio.create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[Request, asyncio.Future[Result]]]) -> None:
        try:
            await self._answer(batch)
        finally:  # whatever happened (cancelled at shutdown, a bug), nobody is left waiting: App retries
            _fail(batch, sa_exc.OperationalError("batch", (), Exception("not answered")))
            self._running -= 1
            self._schedule()

    async def _answer(self, batch: list[tuple[Request, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._statement([request for request, _ in batch])
        except (sa_exc.OperationalError, sa_exc.TimeoutError) as error:  # the connection, the server, the pool: retried
            _fail(batch, error)
        except Exception as error:
            if len(batch) == 1:
                _fail(batch, error)
                return
            for one in batch:  # one request's bad data must not fail the others': alone, each
                await self._answer([one])
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _statement(self, requests: list[Request]) -> Sequence[Result]:
        fit = False  # the connection goes back after a success, or an error of the statement's own
        async with self._connections.connection(keep=lambda: fit) as (_conn, raw):
            try:
                results = await self._run_statement(raw, requests)
            except sa_exc.DBAPIError as error:
                fit = not isinstance(error, sa_exc.OperationalError)
                raise
            fit = True
        if len(results) != len(requests):
            raise RuntimeError(f"{len(results)} results for {len(requests)} requests")
        return results

    async def close(self) -> None:
        """At shutdown: nothing new is sent; what is on the wire is cancelled and its updates fail (App retries)."""
        self._closed = True
        _fail(self._waiting, sa_exc.OperationalError("batch", (), Exception("shutting down")))
        self._waiting = []
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


def _fail(batch: list[tuple[Any, asyncio.Future[Any]]], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


def columns(rows: Sequence[Row], width: int) -> list[list[Any]]:
    """Rows of parameters as one array per column, for `unnest`."""
    return [[row[i] for row in rows] for i in range(width)] if rows else [[] for _ in range(width)]
