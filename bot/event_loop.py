"""The event loop every process of the bot runs on.

uvloop (libuv, by the authors of asyncpg) where it is installed, which is Linux and macOS: on the
replay bench it saved about an eighth of the bot's CPU per update on PostgreSQL (median of five
alternating runs), since the bot's time goes on sockets (Bot API, database) more than on its own
Python. The standard loop elsewhere; both frameworks run on either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
