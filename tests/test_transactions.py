"""One event is one transaction: a handler that fails half way leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot import router
from bot.app import App
from storage.models import Case, ProcessedUpdate
from tests.support import Chat
from tests.test_report_scenarios import FULL_REPORT


async def test_a_failing_handler_rolls_back_everything(app: App, collaborator: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT)
    original = router.remember_menu

    def explode(*args: object) -> None:  # after the case was written in the same transaction
        raise RuntimeError("disk full")

    monkeypatch.setattr(router, "remember_menu", explode)
    await collaborator.send("gửi")
    assert "chưa được lưu" in collaborator.text
    async with app.db.transaction() as session:
        assert list(await session.exec(select(Case))) == []
        updates = {u.update_id for u in await session.exec(select(ProcessedUpdate))}
    monkeypatch.setattr(router, "remember_menu", original)
    await collaborator.send("gửi")  # the form is still at the summary: nothing was lost
    assert "Mã hồ sơ" in collaborator.text
    assert len(updates) > 0
