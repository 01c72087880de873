"""Health (served as GET /healthz in webhook mode): database reachable and outbox depth."""

from __future__ import annotations

from bot.app import App
from bot.ops.health import health, healthy
from bot.settings import Settings
from storage import outbox
from storage.db import Database


async def test_healthy_with_the_outbox_depth(app: App) -> None:
    assert await health(app) == {"database": "ok", "outbox_pending": 0}
    async with app.db.transaction() as session:
        for chat in ("1", "2", "3"):
            outbox.enqueue(session, "telegram", chat, {"text": "x"})
    report = await health(app)
    assert report == {"database": "ok", "outbox_pending": 3} and healthy(report)


async def test_an_unreachable_database_is_named_without_details(app: App, settings: Settings) -> None:
    working, app.db = app.db, Database("postgresql+asyncpg://bot:s3cret@127.0.0.1:1/nowhere")
    try:
        report = await health(app)
    finally:
        await app.db.dispose()
        app.db = working
    assert report["database"].startswith("error: ") and report["outbox_pending"] is None and not healthy(report)
    assert "s3cret" not in str(report) and "127.0.0.1" not in str(report)
