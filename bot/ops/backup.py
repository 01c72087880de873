"""`backup <file>` and `restore <file>`: the operator's side of storage/backup.py.

Backups hold ciphertext: without DATA_KEY they are unreadable, and with it beside them anyone
who takes the backup reads every child's record. So every backup says so, and restoring checks
that the key in use opens the backup before anything is overwritten.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import InvalidToken

from bot import i18n
from bot.i18n import N_, _, t
from bot.settings import Settings
from storage import backup as store
from storage import crypto, rekey
from storage import migrate as migrations
from storage.backup import BackupError, Snapshot
from storage.db import Database

REASONS = {
    "missing_file": N_("Không tìm thấy tệp {path}."),
    "not_sqlite": N_("{path} không phải tệp cơ sở dữ liệu SQLite."),
    "not_ours": N_("{path} không phải bản sao lưu của Chung Tay (thiếu bảng hồ sơ)."),
    "corrupt": N_("{path} bị hỏng (kiểm tra toàn vẹn: {detail})."),
    "memory_database": N_("Cơ sở dữ liệu trong bộ nhớ không sao lưu được."),
    "tool_missing": N_("Không tìm thấy lệnh {tool}. Hãy cài gói postgresql-client cùng phiên bản với máy chủ (apt install postgresql-client)."),
    "tool_failed": N_("Lệnh {tool} thất bại: {detail}"),
}


def explain(error: BackupError) -> str:
    return t(REASONS.get(error.reason, error.reason), **error.params)


def _when(moment: datetime | None) -> str:
    return i18n.moment(moment) if moment else _("chưa có hoạt động")


def _describe(snapshot: Snapshot) -> str:
    return t(N_("{cases} hồ sơ, hoạt động mới nhất lúc {newest}"), cases=snapshot.cases, newest=_when(snapshot.newest))


def key_warning(settings: Settings, target: Path) -> list[str]:
    lines = [_("⚠️ Bản sao lưu KHÔNG chứa khóa mã hóa (DATA_KEY). Không có khóa thì không ai đọc được họ tên, số điện thoại, mô tả của trẻ, kể cả bạn. Hãy cất khóa ở nơi KHÁC với bản sao lưu (trình quản lý mật khẩu, phong bì niêm phong trong két): để chung một chỗ thì ai lấy được bản sao lưu cũng đọc được hồ sơ trẻ em.")]
    key_file = settings.data_key_file.expanduser().resolve()
    if (settings.data_key is None or not settings.data_key.get_secret_value().strip()) and key_file.parent == target.expanduser().resolve().parent:
        lines.append(t(N_("⚠️ Bản sao lưu đang nằm cùng thư mục với tệp khóa {key}. Hãy chép nó sang nơi khác."), key=key_file))
    return lines


async def backup(settings: Settings, target: Path, force: bool = False) -> int:
    if target.exists() and not force:
        print(t(N_("{path} đã có. Chọn tên khác, hoặc thêm --force để ghi đè."), path=target))
        return 1
    keys = settings.data_keys()
    kind = store.backend(settings.database_url)
    now = datetime.now(UTC)
    try:
        if kind == "sqlite":
            snapshot = await asyncio.to_thread(store.copy_sqlite, store.sqlite_path(settings.database_url), target)
        elif kind == "postgresql":
            db = Database(settings.database_url)
            try:
                snapshot = await store.dump_postgres(db.engine, settings.database_url, target)
            finally:
                await db.dispose()
        else:
            print(t(N_("Chưa hỗ trợ sao lưu cơ sở dữ liệu {kind}."), kind=kind))
            return 2
    except BackupError as exc:
        print(explain(exc))
        if exc.reason == "tool_missing" and kind == "postgresql":
            print(pg_guidance(settings))
        return 1
    manifest = store.write_manifest(target, kind, snapshot, keys, now)
    print(t(N_("✅ Đã sao lưu vào {path}: {summary}."), path=target, summary=_describe(snapshot)))
    print(t(N_("Mô tả bản sao lưu (cần khóa nào để đọc): {path}"), path=manifest))
    for line in key_warning(settings, target):
        print(line)
    return 0


def pg_guidance(settings: Settings) -> str:
    dsn, _env = store.libpq(settings.database_url)
    return "\n".join([
        _("Sao lưu PostgreSQL bằng tay (mật khẩu qua biến PGPASSWORD hoặc ~/.pgpass, đừng ghi vào dòng lệnh):"),
        f"  pg_dump --format=custom --no-owner --no-privileges --file=chungtay-$(date +%F).dump '{dsn}'",
        _("Phục hồi:"),
        f"  pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction -d '{dsn}' chungtay-YYYY-MM-DD.dump",
    ])


def _opens(tokens: list[str], keys: list[str]) -> bool | None:
    """Whether the key ring opens these ciphertexts (None: nothing to try)."""
    if not tokens:
        return None
    try:
        ring = crypto.KeyRing(keys)
        for token in tokens:
            ring.decrypt(token)
    except (InvalidToken, crypto.KeyError_):
        return False
    return True


async def _read_backup(kind: str, source: Path, keys: list[str], force: bool) -> tuple[Snapshot, bool | None] | None:
    """What the backup holds and whether the key ring opens it; None when refused (said why)."""
    if kind == "sqlite":
        await asyncio.to_thread(store.check_sqlite_file, source)
        incoming = await asyncio.to_thread(store.inspect_sqlite, source)
        columns = [(spec.name, c) for spec in rekey.encrypted_tables() for c in spec.columns]
        return incoming, _opens(await asyncio.to_thread(store.sample_tokens_sqlite, source, columns), keys)
    if not source.is_file():
        raise BackupError("missing_file", path=str(source))
    manifest = store.read_manifest(source)
    if manifest is None:
        if not force:
            print(t(N_("Không tìm thấy tệp mô tả {path} đi kèm bản sao lưu, nên không so được bản nào mới hơn. Thêm --force nếu chắc chắn muốn phục hồi."), path=store.manifest_path(source)))
            return None
        return Snapshot(None, 0, ()), None
    known = {store.fingerprint(k) for k in keys}
    opens = bool(known & set(manifest.key_fingerprints)) if manifest.key_fingerprints else None
    return store.snapshot_of(manifest), opens


async def _keep_current(settings: Settings, db: Database, kind: str, source: Path, keys: list[str]) -> Path:
    """Copy what is about to be overwritten, restorable like any backup."""
    now = datetime.now(UTC)
    if kind == "sqlite":
        live = store.sqlite_path(settings.database_url)
        safety = safety_path(live, now)
        snapshot = await asyncio.to_thread(store.copy_sqlite, live, safety)
    else:
        safety = safety_path(source.with_name("chungtay.dump"), now)
        snapshot = await store.dump_postgres(db.engine, settings.database_url, safety)
    store.write_manifest(safety, kind, snapshot, keys, now)
    return safety


async def restore(settings: Settings, source: Path, force: bool = False) -> int:
    kind = store.backend(settings.database_url)
    if kind not in ("sqlite", "postgresql"):
        print(t(N_("Chưa hỗ trợ phục hồi cơ sở dữ liệu {kind}."), kind=kind))
        return 2
    keys = settings.data_keys()
    db = Database(settings.database_url)
    try:
        current = await store.inspect(db.engine)
        found = await _read_backup(kind, source, keys, force)
        if found is None:
            return 1
        incoming, opens = found
        unknown = [r for r in incoming.revisions if not migrations_known(r)]
        if unknown:
            print(t(N_("Bản sao lưu từ một phiên bản mới hơn của phần mềm (lược đồ {revision}). Hãy cập nhật phần mềm trước khi phục hồi."), revision=", ".join(unknown)))
            return 1
        print(t(N_("Bản sao lưu: {summary}."), summary=_describe(incoming)))
        print(t(N_("Cơ sở dữ liệu hiện tại: {summary}."), summary=_describe(current)))
        if opens is False and not force:
            print(_("Khóa DATA_KEY đang đặt không mở được dữ liệu trong bản sao lưu này (bản sao lưu làm trước một lần đổi khóa?). Hãy đặt khóa lúc sao lưu, có thể kèm khóa hiện tại: DATA_KEY=<khóa cũ>,<khóa mới>. Thêm --force nếu vẫn muốn phục hồi."))
            return 1
        if newer(current, incoming) and not force:
            print(_("Cơ sở dữ liệu hiện tại có dữ liệu MỚI HƠN bản sao lưu: phục hồi sẽ làm mất những thay đổi đó. Không làm gì cả. Thêm --force nếu chắc chắn."))
            return 1
        if current.newest is not None or current.cases:
            safety = await _keep_current(settings, db, kind, source, keys)
            print(t(N_("Đã giữ một bản của cơ sở dữ liệu hiện tại trước khi ghi đè: {path}"), path=safety))
        await db.dispose()
        if kind == "sqlite":
            await asyncio.to_thread(store.restore_sqlite, source, store.sqlite_path(settings.database_url))
        else:
            await store.restore_postgres(db.engine, settings.database_url, source)
        await db.dispose()
        crypto.configure(keys)
        await migrations.upgrade(db.engine)
        restored = await store.inspect(db.engine)
    except BackupError as exc:
        print(explain(exc))
        return 1
    finally:
        await db.dispose()
    print(t(N_("✅ Đã phục hồi: {summary}. Khởi động lại bot (systemctl restart chungtay)."), summary=_describe(restored)))
    return 0


def safety_path(beside: Path, now: datetime) -> Path:
    """A new file name for the copy of what a restore overwrites; never an existing file."""
    stem = f"{beside.name}.before-restore-{now:%Y%m%d-%H%M%S}"
    candidate, n = beside.with_name(stem), 1
    while candidate.exists() or store.manifest_path(candidate).exists():
        n += 1
        candidate = beside.with_name(f"{stem}-{n}")
    return candidate


def newer(current: Snapshot, incoming: Snapshot) -> bool:
    """Whether restoring `incoming` over `current` would lose something: later activity, or
    more cases than the backup holds."""
    if current.cases > incoming.cases:
        return True
    return current.newest is not None and (incoming.newest is None or current.newest > incoming.newest)


def migrations_known(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrations.alembic_config())
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False
