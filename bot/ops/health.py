"""Health of a running bot: is the database reachable, how many messages wait in the outbox.

Served as `GET /healthz` by the webhook server and printed by `python -m bot health` (for
monitoring in polling mode). Errors are named by type only: a driver's message can carry a
host name or a query, and this answer may be public.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from storage import outbox

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds: a load balancer's probe should not hang on a locked database


async def _probe(app: App) -> int:
    async with app.db.transaction() as session:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return await outbox.depth(session)


async def health(app: App) -> dict[str, Any]:
    """{"database": "ok", "outbox_pending": n}, or {"database": "error: <Type>", "outbox_pending": None}."""
    try:
        pending = await asyncio.wait_for(_probe(app), timeout=TIMEOUT)
    except Exception as exc:
        name = "Timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
        log.warning("health check failed: %s", name)
        return {"database": f"error: {name}", "outbox_pending": None}
    return {"database": "ok", "outbox_pending": pending}


def healthy(report: dict[str, Any]) -> bool:
    return report.get("database") == "ok"
