"""Gathering statements across updates (storage/pg_batches.py), without a database: what each
update gets back must be its own answer, whatever else went in the same statement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import exc as sa_exc

from storage.pg_batches import Batcher


class NoConnections:
    """Stands in for KeptConnections: the statement below needs no connection."""

    @asynccontextmanager
    async def connection(self, keep: object = None) -> AsyncIterator[tuple[None, None]]:
        await asyncio.sleep(0)  # a round trip: the next requests gather meanwhile
        yield None, None


class Doubling:
    """A statement that doubles numbers, refuses negative ones, and records what went together."""

    def __init__(self) -> None:
        self.statements: list[list[int]] = []

    async def __call__(self, _raw: object, requests: Sequence[int]) -> list[int]:
        self.statements.append(list(requests))
        await asyncio.sleep(0.001)
        if any(n < 0 for n in requests):
            raise sa_exc.DataError("batch", (), ValueError("negative"))
        return [2 * n for n in requests]


@given(st.lists(st.integers(min_value=-3, max_value=1000), min_size=1, max_size=150))
@settings(max_examples=60, deadline=None)
def test_each_request_gets_its_own_answer_and_only_a_bad_one_fails(numbers: list[int]) -> None:
    async def scenario() -> None:
        statement = Doubling()
        batcher: Batcher[int, int] = Batcher(NoConnections(), statement, in_flight=2, most=64)  # type: ignore[arg-type]
        results = await asyncio.gather(*(batcher.submit(n) for n in numbers), return_exceptions=True)
        for n, result in zip(numbers, results, strict=True):
            if n < 0:
                assert isinstance(result, sa_exc.DataError)
            else:
                assert result == 2 * n
        assert all(len(s) <= 64 for s in statement.statements)
        if all(n >= 0 for n in numbers):  # nothing retried alone: requests of one turn share statements
            assert len(statement.statements) <= -(-len(numbers) // 64) + 1

    asyncio.run(scenario())


async def test_a_lost_connection_fails_every_request_of_the_statement_for_a_retry() -> None:
    calls: list[list[int]] = []

    async def lost(_raw: object, requests: Sequence[int]) -> list[int]:
        calls.append(list(requests))
        raise sa_exc.OperationalError("batch", (), ConnectionResetError())

    batcher: Batcher[int, int] = Batcher(NoConnections(), lost)  # type: ignore[arg-type]
    results = await asyncio.gather(*(batcher.submit(n) for n in range(5)), return_exceptions=True)
    assert all(isinstance(r, sa_exc.OperationalError) for r in results)
    assert calls == [[0, 1, 2, 3, 4]]  # not tried one by one: App retries each update


async def test_an_update_that_gave_up_waiting_does_not_disturb_the_others() -> None:
    statement = Doubling()
    batcher: Batcher[int, int] = Batcher(NoConnections(), statement)  # type: ignore[arg-type]
    leaving = asyncio.ensure_future(batcher.submit(1))
    staying = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0)
    leaving.cancel()
    assert await staying == 4
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_shutting_down_mid_statement_leaves_nobody_waiting() -> None:
    """Cancelled at shutdown, even while retrying a batch one request at a time: every update
    gets an error App retries (next start, for polling), none waits for ever."""
    never = asyncio.Event()

    async def stuck(_raw: object, requests: Sequence[int]) -> list[int]:
        if len(requests) > 1:
            raise sa_exc.DataError("batch", (), ValueError("one of them is bad"))  # split: one by one
        await never.wait()
        return list(requests)

    batcher: Batcher[int, int] = Batcher(NoConnections(), stuck)  # type: ignore[arg-type]
    waiting = [asyncio.ensure_future(batcher.submit(n)) for n in range(4)]
    later = asyncio.ensure_future(batcher.submit(99))
    await asyncio.sleep(0.05)
    await batcher.close()
    results = await asyncio.wait_for(asyncio.gather(*waiting, later, return_exceptions=True), timeout=1)
    assert all(isinstance(r, sa_exc.OperationalError) for r in results)
    with pytest.raises(sa_exc.OperationalError):
        await batcher.submit(5)  # closed: refused at once
