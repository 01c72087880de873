"""`rotate-key`: put every personal field under a new DATA_KEY, resumably.

Where the new key comes from, in order: `--new-key`; the first of several keys in DATA_KEY (a
rotation staged as DATA_KEY=new,old so the running bot already writes under the new key); the
pending key file left by an interrupted run; else a fresh key, saved to the pending file
(0600) BEFORE any row is rewritten, so a crash can never leave data under a key nobody has.
With a key file instead of DATA_KEY, a finished rotation installs the new key in the file and
keeps the old one beside it (old backups still need it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

from bot.i18n import N_, _, t
from bot.settings import Settings
from storage import crypto, rekey
from storage import migrate as migrations
from storage.backup import fingerprint
from storage.db import Database


class RotationError(Exception):
    """Bad input from the operator: the message (already in words) says what to do."""


@dataclass(frozen=True)
class Plan:
    new_key: str
    old_keys: list[str]
    source: str  # "option" | "staged" | "pending" | "generated"


def pending_path(settings: Settings) -> Path:
    key_file = settings.data_key_file
    return key_file.with_name(key_file.name + ".new")


def _valid(key: str) -> str:
    key = key.strip()
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise RotationError(_("Khóa mới không hợp lệ: cần 32 byte mã hóa base64 an toàn cho URL (như khóa do lệnh rotate-key tạo ra).")) from None
    return key


def _save_pending(path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")


def plan(settings: Settings, new_key: str | None) -> Plan:
    """Decide the new key and the old ones; never loses a generated key."""
    current = settings.data_keys()
    pending = pending_path(settings)
    if new_key is not None:
        key, source = _valid(new_key), "option"
    elif len(current) > 1:
        key, source = current[0], "staged"
    elif pending.is_file():
        key, source = _valid(pending.read_text()), "pending"
    else:
        key, source = crypto.generate_key(), "generated"
        _save_pending(pending, key)
    old = [k for k in current if k != key]
    if not old:
        raise RotationError(_("Khóa mới trùng với khóa đang dùng: không có gì để đổi. Hãy đưa một khóa khác, hoặc bỏ --new-key để tạo khóa mới."))
    return Plan(key, old, source)


def _install_key_file(settings: Settings, new_key: str, now: datetime) -> Path:
    """Key-file mode: the new key goes into the key file; the old one is kept beside it."""
    key_file = settings.data_key_file
    archived = key_file.with_name(f"{key_file.name}.old-{now:%Y%m%d%H%M%S}")
    if key_file.exists():
        os.replace(key_file, archived)
    _save_pending(key_file, new_key)
    pending_path(settings).unlink(missing_ok=True)
    return archived


async def rotate_key(settings: Settings, new_key: str | None, batch_size: int = rekey.DEFAULT_BATCH) -> int:
    try:
        chosen = plan(settings, new_key)
    except RotationError as exc:
        print(str(exc))
        return 2
    if chosen.source == "generated":
        print(t(N_("Đã tạo khóa mới và lưu tạm ở {path} (chỉ chủ sở hữu đọc được). Nếu lệnh bị ngắt, chạy lại rotate-key: nó dùng tiếp khóa này."), path=pending_path(settings)))
    elif chosen.source == "pending":
        print(t(N_("Tiếp tục lần đổi khóa trước với khóa mới ở {path}."), path=pending_path(settings)))
    print(t(N_("Khóa mới: mã nhận dạng {new}. Khóa cũ: {old}."), new=fingerprint(chosen.new_key), old=", ".join(fingerprint(k) for k in chosen.old_keys)))
    print(_("Lưu ý: trong lúc đổi khóa, bot đang chạy phải dùng DATA_KEY=<khóa mới>,<khóa cũ> (hoặc tạm dừng bot), nếu không bot sẽ không đọc được các dòng đã đổi."))

    crypto.configure([chosen.new_key, *chosen.old_keys])
    db = Database(settings.database_url)
    try:
        await migrations.upgrade(db.engine)

        def progress(table: str, result: rekey.TableResult) -> None:
            if result.batches % 20 == 0:  # a line now and then on big databases
                print("  " + t(N_("{table}: đã mã hóa lại {n} giá trị ({batches} đợt)"), table=table, n=result.rewritten, batches=result.batches), flush=True)

        result = await rekey.rotate(db.engine, chosen.new_key, chosen.old_keys, batch_size=batch_size, progress=progress)
        left = await rekey.remaining(db.engine, chosen.new_key)
    finally:
        await db.dispose()

    for table, table_result in result.tables.items():
        print("  " + t(N_("{table}: mã hóa lại {n} giá trị, {already} đã ở khóa mới."), table=table, n=table_result.rewritten, already=table_result.already))
    print(t(N_("Xong: mã hóa lại {rewritten} giá trị; {already} giá trị đã ở khóa mới từ trước."), rewritten=result.total("rewritten"), already=result.total("already")))
    for name in result.missing:
        print("  " + t(N_("Bảng {table} chưa có trong cơ sở dữ liệu (chưa chạy migrate?): bỏ qua."), table=name))
    not_done = {name: n for name, n in left.items() if n}
    if not_done:
        for name, n in sorted(not_done.items()):
            print("  " + t(N_("{column}: còn {n} giá trị chưa ở khóa mới."), column=name, n=n))
        if result.total("unreadable"):
            print(t(N_("CẢNH BÁO: {n} giá trị không mở được bằng khóa nào đã cho. Chúng được giữ nguyên. Hãy thêm khóa cũ còn thiếu vào DATA_KEY và chạy lại."), n=result.total("unreadable")))
        print(_("Chưa xong. Đừng bỏ khóa cũ. Chạy lại rotate-key (cùng khóa mới) để hoàn tất."))
        return 1

    now = datetime.now(UTC)
    if settings.data_key is not None and settings.data_key.get_secret_value().strip():
        print(_("Mọi trường cá nhân đã ở khóa mới. Bây giờ hãy đặt trong /etc/chungtay/env (hoặc .env):"))
        print(f"DATA_KEY={chosen.new_key}")
        print(_("rồi khởi động lại bot (systemctl restart chungtay)."))
        if pending_path(settings).exists():
            print(t(N_("Sau đó xóa tệp khóa tạm {path}."), path=pending_path(settings)))
    else:
        archived = _install_key_file(settings, chosen.new_key, now)
        print(t(N_("Mọi trường cá nhân đã ở khóa mới. Khóa mới đã được ghi vào {path}; khóa cũ được giữ ở {old}."), path=settings.data_key_file, old=archived))
        print(_("Khởi động lại bot để dùng khóa mới (systemctl restart chungtay)."))
    print(_("Giữ khóa cũ ở nơi an toàn cùng với các bản sao lưu cũ: bản sao lưu làm trước khi đổi khóa chỉ đọc được bằng khóa cũ."))
    return 0
