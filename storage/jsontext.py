"""JSON as text for the database (JSON columns, encrypted JSON documents), through orjson: the
stdlib's encoder and decoder were about 8% of the bot's CPU under load."""

from __future__ import annotations

from typing import Any

import orjson

loads = orjson.loads


def dumps(value: Any) -> str:
    """Compact UTF-8 JSON; non-string keys written as strings, as the stdlib's json does."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
