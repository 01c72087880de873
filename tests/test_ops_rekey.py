"""Key rotation: every encrypted value of every table ends under the new key, none is lost, an
interrupted run resumes, and the running application reads everything with the new key alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.app import App
from bot.ops import rekey as rekey_cli
from bot.settings import Settings
from storage import audit, cases, crypto, outbox, rekey
from storage.crypto import EncryptedText
from storage.models import Case, CaseEvent, Person
from tests.support import Chat, Clock
from tests.test_report_scenarios import FULL_REPORT

Values = dict[tuple[str, str, tuple], str]  # (table, column, primary key) -> plaintext


async def raw_values(engine: AsyncEngine, keys: list[str], metadatas=None) -> Values:
    """Every encrypted value in the database, opened with `keys` straight from the stored text."""
    ring = crypto.KeyRing(keys)
    found: Values = {}
    async with engine.connect() as connection:
        for spec in rekey.encrypted_tables(metadatas):
            pk = ", ".join(spec.primary_key)
            for column in spec.columns:
                rows = await connection.execute(text(f'SELECT {pk}, "{column}" FROM "{spec.name}" WHERE "{column}" IS NOT NULL'))
                for row in rows:
                    found[(spec.name, column, tuple(row[:-1]))] = ring.decrypt(row[-1]).decode()
    return found


async def tokens(engine: AsyncEngine) -> list[str]:
    out = []
    async with engine.connect() as connection:
        for spec in rekey.encrypted_tables():
            for column in spec.columns:
                out += [r[0] for r in await connection.execute(text(f'SELECT "{column}" FROM "{spec.name}" WHERE "{column}" IS NOT NULL'))]
    return out


def opens(key: str, token: str) -> bool:
    try:
        crypto.KeyRing([key]).decrypt(token)
    except InvalidToken:
        return False
    return True


async def populate(app: App, clock: Clock, extra_cases: int = 30) -> Chat:
    """Personal data in every encrypted column: a finished report, an emergency alert in the
    outbox, a half-filled form, notes, audit details, display names, and a batch of cases."""
    done = await Chat.collaborator(app, user="501")
    await done.send("/baocao")
    await done.answers(*FULL_REPORT)
    await done.send("gửi")
    emergency = await Chat.collaborator(app, user="502")
    await emergency.send("/baocao")
    await emergency.answers("Hoàng Thị Xuyến", "nữ", "2014", "lao cai", "ban ho", "Bản Nậm Chày", "ở nhà chú", "9", "Bị đánh", "có")
    await emergency.event(text="Giàng A Pử", name="Chị Mai (CTV)")
    async with app.db.transaction() as session:
        for i in range(extra_cases):
            data = cases.CaseData(province_code=15, commune_code=3046, groups=("a",), personal={"child_name": f"Trẻ số {i}", "hamlet": "Bản Dền"})
            case = await cases.create(session, data, prefix="LCA", reporter_id=None, now=clock.now)
            session.add(CaseEvent(case_id=case.id, kind="note", note=f"ghi chú riêng {i}", at=clock.now))
            audit.record(session, "read_personal", actor_id=None, case_id=case.id, detail=f"lý do xem {i}", now=clock.now)
        outbox.enqueue(session, "telegram", "9001", {"text": "Tin nhắn có tên trẻ"})
    return emergency


async def test_every_encrypted_column_is_found_by_type() -> None:
    found = {(t.name, c) for t in rekey.encrypted_tables() for c in t.columns}
    assert {("child_case", "personal"), ("person", "display_name"), ("case_event", "note"), ("conversation", "state"),
            ("outbox", "payload"), ("audit_log", "detail")} <= found
    extra = MetaData()
    Table("later_table", extra, Column("id", Integer, primary_key=True), Column("secret", EncryptedText()), Column("n", Integer))
    assert [(t.name, t.columns, t.primary_key) for t in rekey.encrypted_tables([extra])] == [("later_table", ("secret",), ("id",))]


async def test_rotation_moves_every_value_and_loses_none(app: App, settings: Settings, clock: Clock) -> None:
    emergency = await populate(app, clock)
    old = settings.data_keys()
    before = await raw_values(app.db.engine, old)
    assert {t for t, _c, _k in before} == {"child_case", "person", "case_event", "conversation", "outbox", "audit_log"}
    new = Fernet.generate_key().decode()
    crypto.configure([new, *old])

    result = await rekey.rotate(app.db.engine, new, old, batch_size=7)

    assert result.total("rewritten") == len(before) and result.total("unreadable") == 0 and not result.missing
    assert result.tables["child_case"].batches >= 5
    assert set((await rekey.remaining(app.db.engine, new)).values()) == {0}
    assert await raw_values(app.db.engine, [new]) == before  # the new key alone opens every value, unchanged
    assert not any(opens(old[0], token) for token in await tokens(app.db.engine))

    # the application, with the new key only, carries on where people were
    crypto.configure([new])
    await emergency.answers("2", "2", "bỏ qua", "1", "bỏ qua", "không", "3")
    await emergency.send("gửi")
    assert "Đã nhận báo cáo" in emergency.text
    async with app.db.transaction() as session:
        case = (await session.exec(select(Case).where(Case.code == "LCA-2026-000001"))).one()
        person = (await session.exec(select(Person).where(Person.external_id == "502"))).one()
    assert case.personal["child_name"] == "Nguyễn Văn An" and person.display_name == "Chị Mai (CTV)"

    again = await rekey.rotate(app.db.engine, new, old, batch_size=7)
    assert again.total("rewritten") == 0 and again.total("already") == len(await tokens(app.db.engine))


async def test_an_interrupted_rotation_resumes_and_finishes(app: App, settings: Settings, clock: Clock) -> None:
    await populate(app, clock)
    old = settings.data_keys()
    before = await raw_values(app.db.engine, old)
    new = Fernet.generate_key().decode()

    class Crash(Exception):
        pass

    batches: list[str] = []
    committed: dict[str, int] = {}

    def crash_on_the_fourth_batch(table: str, result: rekey.TableResult) -> None:
        batches.append(table)
        committed[table] = result.rewritten
        if len(batches) == 4:
            raise Crash

    with pytest.raises(Crash):
        await rekey.rotate(app.db.engine, new, old, batch_size=5, progress=crash_on_the_fourth_batch)

    half = await tokens(app.db.engine)
    under_new = sum(opens(new, t) for t in half)
    assert under_new == sum(committed.values()) and 0 < under_new < len(before)  # four batches committed
    assert all(opens(new, t) or opens(old[0], t) for t in half)
    assert await raw_values(app.db.engine, [new, *old]) == before  # nothing lost half way

    result = await rekey.rotate(app.db.engine, new, old, batch_size=5)
    assert result.total("already") == under_new and result.total("rewritten") == len(before) - under_new
    assert await raw_values(app.db.engine, [new]) == before
    assert set((await rekey.remaining(app.db.engine, new)).values()) == {0}


async def test_the_audit_log_stays_append_only_while_its_details_move(app: App, settings: Settings, clock: Clock) -> None:
    await populate(app, clock, extra_cases=3)
    async with app.db.engine.connect() as connection:
        before = [tuple(r) for r in await connection.execute(text("SELECT id, at, actor_id, action, case_id FROM audit_log ORDER BY id"))]
    new = Fernet.generate_key().decode()
    await rekey.rotate(app.db.engine, new, settings.data_keys())
    async with app.db.engine.connect() as connection:
        after = [tuple(r) for r in await connection.execute(text("SELECT id, at, actor_id, action, case_id FROM audit_log ORDER BY id"))]
    assert after == before
    with pytest.raises(Exception, match="append-only"):
        async with app.db.engine.begin() as connection:
            await connection.execute(text("UPDATE audit_log SET action = 'x'"))


async def test_a_table_added_later_is_rotated_too(app: App, settings: Settings) -> None:
    extra = MetaData()
    table = Table("later_table", extra, Column("id", Integer, primary_key=True), Column("secret", EncryptedText()))
    async with app.db.engine.begin() as connection:
        await connection.run_sync(extra.create_all)
        await connection.execute(table.insert(), [{"id": i, "secret": f"bí mật {i}"} for i in range(1, 12)])
    new = Fernet.generate_key().decode()
    result = await rekey.rotate(app.db.engine, new, settings.data_keys(), batch_size=4, metadatas=[extra])
    assert result.tables["later_table"].rewritten == 11 and result.tables["later_table"].batches == 3
    values = await raw_values(app.db.engine, [new], metadatas=[extra])
    assert sorted(values.values()) == sorted(f"bí mật {i}" for i in range(1, 12))


async def test_values_no_key_opens_are_kept_and_reported(app: App, settings: Settings, clock: Clock) -> None:
    await populate(app, clock, extra_cases=2)
    stranger = Fernet(Fernet.generate_key()).encrypt(b"from another install").decode()
    async with app.db.engine.begin() as connection:
        await connection.execute(text("UPDATE case_event SET note = :t WHERE id = (SELECT MIN(id) FROM case_event)"), {"t": stranger})
    new = Fernet.generate_key().decode()
    result = await rekey.rotate(app.db.engine, new, settings.data_keys())
    assert result.total("unreadable") == 1
    assert (await rekey.remaining(app.db.engine, new))["case_event.note"] == 1
    assert stranger in await tokens(app.db.engine)


# ---- the CLI command ----------------------------------------------------------------------------


def key_file_settings(settings: Settings, tmp_path: Path, key: str) -> Settings:
    key_file = tmp_path / "keys" / "chungtay.key"
    key_file.parent.mkdir()
    key_file.write_text(key + "\n")
    return settings.model_copy(update={"data_key": None, "data_key_file": key_file})


async def test_cli_generates_saves_resumes_and_installs_the_key(app: App, settings: Settings, clock: Clock, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    await populate(app, clock, extra_cases=12)
    old = settings.data_keys()[0]
    before = await raw_values(app.db.engine, [old])
    ops = key_file_settings(settings, tmp_path, old)
    pending = rekey_cli.pending_path(ops)

    real = rekey._rotate_table

    async def crash_after_first_table(engine, spec, *args):
        if spec.name != rekey.encrypted_tables()[0].name:
            raise KeyboardInterrupt
        await real(engine, spec, *args)

    monkeypatch.setattr(rekey, "_rotate_table", crash_after_first_table)
    with pytest.raises(KeyboardInterrupt):
        await rekey_cli.rotate_key(ops, None, batch_size=5)
    assert "Đã tạo khóa mới và lưu tạm" in capsys.readouterr().out
    generated = pending.read_text().strip()
    assert pending.stat().st_mode & 0o077 == 0
    assert 0 < sum(opens(generated, t) for t in await tokens(app.db.engine)) < len(before)

    monkeypatch.setattr(rekey, "_rotate_table", real)
    assert await rekey_cli.rotate_key(ops, None, batch_size=5) == 0
    out = capsys.readouterr().out
    assert "Tiếp tục lần đổi khóa trước" in out and "Mọi trường cá nhân đã ở khóa mới" in out
    assert ops.data_key_file.read_text().strip() == generated and not pending.exists()
    [archived] = [p for p in ops.data_key_file.parent.iterdir() if ".old-" in p.name]
    assert archived.read_text().strip() == old
    assert await raw_values(app.db.engine, [generated]) == before
    crypto.configure(ops.data_keys())
    async with app.db.transaction() as session:
        assert len(list(await session.exec(select(Case)))) == 14


async def test_cli_with_data_key_prints_what_to_set(app: App, settings: Settings, clock: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    await populate(app, clock, extra_cases=2)
    old = settings.data_keys()[0]
    new = Fernet.generate_key().decode()
    staged = settings.model_copy(update={"data_key": SecretStr(f"{new},{old}")})
    assert await rekey_cli.rotate_key(staged, None) == 0
    out = capsys.readouterr().out
    assert f"DATA_KEY={new}\n" in out and "khóa mới" in out
    assert all(opens(new, t) for t in await tokens(app.db.engine))

    single = settings.model_copy(update={"data_key": SecretStr(new)})
    assert await rekey_cli.rotate_key(single, new) == 2
    assert "Khóa mới trùng với khóa đang dùng" in capsys.readouterr().out
    assert await rekey_cli.rotate_key(staged, "not-a-key") == 2
    assert "Khóa mới không hợp lệ" in capsys.readouterr().out


async def test_values_written_with_fernet_are_read_and_rotated_to_aes_gcm(app: App, settings: Settings, clock: Clock) -> None:
    """Databases from before AES-GCM hold Fernet tokens: the bot reads them, rotation reseals them."""
    await populate(app, clock, extra_cases=2)
    old_key = settings.data_keys()[0]
    legacy = Fernet(old_key).encrypt("Nguyễn Văn Bình, thôn Nà Lừa".encode()).decode()
    async with app.db.engine.begin() as connection:
        await connection.execute(text("UPDATE case_event SET note = :t WHERE id = (SELECT MIN(id) FROM case_event)"), {"t": legacy})
    async with app.db.transaction() as session:
        first = (await session.exec(select(CaseEvent).order_by(CaseEvent.id))).first()
        assert first is not None and first.note == "Nguyễn Văn Bình, thôn Nà Lừa"
    new = Fernet.generate_key().decode()
    result = await rekey.rotate(app.db.engine, new, settings.data_keys())
    assert result.total("unreadable") == 0
    assert (await rekey.remaining(app.db.engine, new))["case_event.note"] == 0
    stored = await tokens(app.db.engine)
    assert legacy not in stored and all(t.startswith(crypto.PREFIX) for t in stored)
    assert "Nguyễn Văn Bình, thôn Nà Lừa" in (await raw_values(app.db.engine, [new])).values()
