"""Backups while the bot writes, and restores that refuse to lose newer data."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlmodel import col, select

from bot.app import App
from bot.ops import backup as ops_backup
from bot.settings import Settings
from storage import backup as store
from storage import cases
from storage.models import Case, CaseEvent, Need
from tests.conftest import TEST_POSTGRES_URL
from tests.support import Chat, Clock, postgres
from tests.test_report_scenarios import FULL_REPORT


@pytest.fixture
async def other_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A second, empty database on the same backend: where a backup is restored."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'chungtay.db'}"
        return
    name = f"ct_{uuid.uuid4().hex[:12]}"
    await postgres.create_database(TEST_POSTGRES_URL, name)
    try:
        yield postgres.with_database(TEST_POSTGRES_URL, name)
    finally:
        await postgres.drop_database(TEST_POSTGRES_URL, name)


async def new_case(app: App, clock: Clock, name: str) -> str:
    async with app.db.transaction() as session:
        data = cases.CaseData(province_code=15, commune_code=3046, groups=("a",), needs={"health": 500_000},
                              personal={"child_name": name, "hamlet": "Bản Dền"})
        case = await cases.create(session, data, prefix="LCA", reporter_id=None, now=clock.now)
        return case.code


async def restored_cases(settings: Settings, clock: Clock) -> dict[str, tuple[dict | None, list[str], list[str]]]:
    """code -> (personal, needs, history kinds), read back through a freshly opened application."""
    app = await App.open(settings, clock=clock)
    try:
        async with app.db.transaction() as session:
            rows = list(await session.exec(select(Case).order_by(col(Case.id))))
            needs = {n.case_id: n.kind for n in await session.exec(select(Need))}
            history: dict[int, list[str]] = {}
            for event in await session.exec(select(CaseEvent)):
                history.setdefault(event.case_id, []).append(event.kind)
            return {c.code: (c.personal, [needs.get(c.id, "")], history.get(c.id, [])) for c in rows}
    finally:
        await app.close()


async def test_a_backup_taken_mid_traffic_restores_every_committed_case(
    app: App, settings: Settings, clock: Clock, tmp_path: Path, other_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    committed: list[str] = []
    stop = asyncio.Event()

    async def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            committed.append(await new_case(app, clock, f"Trẻ {n}-{i}"))  # appended once committed
            i += 1
            await asyncio.sleep(0)

    writers = [asyncio.create_task(writer(n)) for n in range(3)]
    while len(committed) < 30:
        await asyncio.sleep(0.01)
    target = tmp_path / "backups" / "mid-traffic.backup"
    async with app.db.transaction() as session:  # a report being saved while the backup runs
        data = cases.CaseData(province_code=15, commune_code=3046, groups=("b",), personal={"child_name": "Đang lưu"})
        in_flight = (await cases.create(session, data, prefix="LCA", reporter_id=None, now=clock.now)).code
        before = set(committed)
        assert await ops_backup.backup(settings, target) == 0
        after = set(committed)
    while len(committed) < len(after) + 15:  # the bot keeps writing after the backup
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.gather(*writers)
    out = capsys.readouterr().out
    assert "✅ Đã sao lưu vào" in out and "KHÔNG chứa khóa mã hóa" in out

    restored_settings = settings.model_copy(update={"database_url": other_url})
    assert await ops_backup.restore(restored_settings, target) == 0
    assert "✅ Đã phục hồi" in capsys.readouterr().out
    restored = await restored_cases(restored_settings, clock)

    assert before <= set(restored) <= after  # every case committed before the backup; none invented
    assert in_flight not in restored and in_flight in await restored_cases(settings, clock)  # uncommitted then
    assert len(restored) < len(committed)
    for code, (personal, needs, history) in restored.items():  # each case whole: one transaction each
        assert personal is not None and personal["child_name"].startswith("Trẻ ") and personal["hamlet"] == "Bản Dền", code
        assert needs == ["health"] and history == ["created"], code
    manifest = json.loads(store.manifest_path(target).read_text())
    assert manifest["cases"] == len(restored) and manifest["key_fingerprints"] == [store.fingerprint(settings.data_keys()[0])]
    assert target.stat().st_mode & 0o077 == 0


async def test_restore_refuses_to_overwrite_newer_data_without_force(
    app: App, settings: Settings, clock: Clock, tmp_path: Path, collaborator: Chat, capsys: pytest.CaptureFixture[str]
) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT)
    await collaborator.send("gửi")
    target = tmp_path / "before.backup"
    assert await ops_backup.backup(settings, target) == 0
    clock.now = datetime.now(UTC) + timedelta(minutes=5)
    newer = await new_case(app, clock, "Trẻ mới sau sao lưu")
    await app.db.engine.dispose()  # the bot is stopped for a restore
    capsys.readouterr()

    assert await ops_backup.restore(settings, target) == 1
    out = capsys.readouterr().out
    assert "có dữ liệu MỚI HƠN bản sao lưu" in out and "Bản sao lưu: 1 hồ sơ" in out and "Cơ sở dữ liệu hiện tại: 2 hồ sơ" in out
    assert set(await restored_cases(settings, clock)) == {"LCA-2026-000001", newer}

    assert await ops_backup.restore(settings, target, force=True) == 0
    out = capsys.readouterr().out
    assert "Đã giữ một bản của cơ sở dữ liệu hiện tại trước khi ghi đè" in out and "✅ Đã phục hồi: 1 hồ sơ" in out
    restored = await restored_cases(settings, clock)
    assert set(restored) == {"LCA-2026-000001"} and restored["LCA-2026-000001"][0]["child_name"] == "Nguyễn Văn An"
    safety = Path(out.split("trước khi ghi đè: ")[1].split("\n")[0])
    assert safety.is_file()  # and the overwritten data can still be put back
    assert await ops_backup.restore(settings, safety, force=True) == 0
    assert newer in await restored_cases(settings, clock)


async def test_restore_refuses_a_backup_the_key_cannot_open(app: App, settings: Settings, clock: Clock, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    await new_case(app, clock, "Trẻ A")
    target = tmp_path / "a.backup"
    assert await ops_backup.backup(settings, target) == 0
    await app.db.engine.dispose()
    stranger = settings.model_copy(update={"data_key": SecretStr(Fernet.generate_key().decode())})
    assert await ops_backup.restore(stranger, target) == 1
    assert "không mở được dữ liệu trong bản sao lưu" in capsys.readouterr().out
    both = settings.model_copy(update={"data_key": SecretStr(stranger.data_keys()[0] + "," + settings.data_keys()[0])})
    assert await ops_backup.restore(both, target) == 0  # a ring with the key of the backup opens it


async def test_backup_keeps_existing_files_and_warns_when_beside_the_key(app: App, settings: Settings, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "x.backup"
    target.write_text("an older backup")
    assert await ops_backup.backup(settings, target) == 1
    assert "đã có" in capsys.readouterr().out and target.read_text() == "an older backup"
    assert await ops_backup.backup(settings, target, force=True) == 0
    capsys.readouterr()

    key_file = tmp_path / "keys" / "chungtay.key"
    key_file.parent.mkdir()
    key_file.write_text(settings.data_keys()[0] + "\n")
    file_mode = settings.model_copy(update={"data_key": None, "data_key_file": key_file})
    assert await ops_backup.backup(file_mode, key_file.with_name("b.backup")) == 0
    assert "cùng thư mục với tệp khóa" in capsys.readouterr().out


async def test_restore_refuses_what_is_not_a_backup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", data_key=Fernet.generate_key().decode())
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"hello" * 100)
    assert await ops_backup.restore(settings, junk) == 1
    assert "không phải tệp cơ sở dữ liệu SQLite" in capsys.readouterr().out
    assert await ops_backup.restore(settings, tmp_path / "missing.backup") == 1
    assert "Không tìm thấy tệp" in capsys.readouterr().out


def test_postgres_tools_get_the_password_through_the_environment() -> None:
    dsn, env = store.libpq("postgresql+asyncpg://bot:s3cret@db.local:5433/chungtay?ssl=require")
    assert dsn == "postgresql://bot@db.local:5433/chungtay" and "s3cret" not in dsn
    assert env["PGPASSWORD"] == "s3cret" and env["PGSSLMODE"] == "require"


async def test_postgres_without_pg_dump_gets_guidance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    settings = Settings(_env_file=None, database_url="postgresql+asyncpg://bot:s3cret@127.0.0.1:1/none", data_key=Fernet.generate_key().decode())
    assert await ops_backup.backup(settings, tmp_path / "x.dump") == 1
    out = capsys.readouterr().out
    assert "Không tìm thấy lệnh pg_dump" in out and "pg_dump --format=custom" in out and "s3cret" not in out


def test_the_cli_backs_up_and_restores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'data' / 'chungtay.db'}")
    monkeypatch.setenv("DATA_KEY", Fernet.generate_key().decode())
    assert main(["migrate"]) == 0
    assert main(["backup", "nightly.backup"]) == 0
    assert main(["backup", "nightly.backup"]) == 1
    assert main(["restore", "nightly.backup"]) == 0
    assert main(["health"]) == 0
    out = capsys.readouterr().out
    assert "✅ Đã sao lưu" in out and "✅ Đã phục hồi" in out
    assert json.loads(out.strip().splitlines()[-1]) == {"database": "ok", "outbox_pending": 0}
