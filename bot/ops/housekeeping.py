"""Daily housekeeping: processed update ids older than a week are forgotten.

Every update records its id (a redelivered one is answered once), so the table grows with every
message; nothing read them after a day, yet nothing deleted them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.jobs import daily
from storage import updates
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


@daily("forget_processed_updates", hour=3)
async def forget_processed_updates(app: App, _now: datetime) -> None:
    """In batches, each its own transaction, so updates get their turn in between. The ids
    carry the wall clock's time (storage/unit.py), so the cutoff does too."""
    async with app.db.transaction() as session:
        before = await updates.cutoff(session, utcnow())
    total = 0
    while True:
        async with app.db.transaction() as session:
            gone = await updates.forget_before(session, before, updates.FORGET_BATCH)
        total += gone
        if gone < updates.FORGET_BATCH:
            break
        await asyncio.sleep(0)
    log.info("housekeeping: %d processed update ids before %s forgotten", total, before.date().isoformat())
