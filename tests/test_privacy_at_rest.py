"""Personal fields never reach the disk in plain text: read the database files raw and search."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.app import App
from bot.settings import Settings
from tests.support import Chat, Clock

SECRETS = {
    "child_name": "Hoàng Thị Xuyến",
    "hamlet": "Bản Nậm Chày",
    "whereabouts": "ở nhà chú Páo",
    "description": "Cháu bị đánh nhiều lần, vết bầm ở tay",
    "caregiver": "Giàng A Pử",
    "phone": "0987 111 222",
}


def _variants(value: str) -> list[bytes]:
    import unicodedata

    forms = {unicodedata.normalize(f, value) for f in ("NFC", "NFD")}
    return [v.encode("utf-8") for v in forms] + [v.encode("utf-16-le") for v in forms]


@pytest.mark.parametrize("stop_at", ["mid-form", "submitted", "emergency"])
async def test_database_file_holds_no_personal_field_in_plain_text(tmp_path: Path, clock: Clock, stop_at: str) -> None:
    db_file = tmp_path / "raw.db"
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{db_file}",
                        data_key=Fernet.generate_key().decode(), staff_ids="9001")
    app = await App.open(settings, clock=clock)
    chat = await Chat.collaborator(app, user="501")
    await chat.send("/baocao")
    danger = "có" if stop_at == "emergency" else "không"
    answers = [SECRETS["child_name"], "nữ", "2014", "lao cai", "ban ho", SECRETS["hamlet"], SECRETS["whereabouts"],
               "9", SECRETS["description"], danger, SECRETS["caregiver"], "2", "2", SECRETS["phone"], "1", "300k", "không", "1"]
    if stop_at == "mid-form":
        answers = answers[:14]
    await chat.answers(*answers)
    if stop_at != "mid-form":
        await chat.send("gửi")
        assert "Mã hồ sơ" in chat.text
    async with app.db.engine.connect() as connection:
        await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    await app.close()

    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("raw.db"))
    assert len(raw) > 10_000
    for field, value in SECRETS.items():
        for form in _variants(value):
            assert form not in raw, f"{field} found in plain text ({stop_at})"
    assert b"987111222" not in raw and b"+84987111222" not in raw
    # and what is not personal stays countable in plain columns
    assert b"LCA-2026-000001" in raw or stop_at == "mid-form"
