"""Consistent copies of the database while the bot runs, and putting one back.

SQLite: the online backup API copies the file in one step under a read transaction, so the copy
is a snapshot even while the bot writes (WAL lets writers go on meanwhile). PostgreSQL: pg_dump
reads a snapshot exported from our own REPEATABLE READ transaction, so the summary we record
(newest activity, number of cases) describes exactly the rows in the dump.

Restoring compares "newest activity" (the latest created/updated/at timestamp of any table): a
database that holds anything newer than the backup is not overwritten unless the caller forces.
Nothing here knows the encryption key: backups hold ciphertext, the key must be kept elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Timestamps that say when something happened (not deadlines or expiry times in the future).
ACTIVITY_COLUMNS = ("created_at", "updated_at", "at", "last_seen_at", "sent_at", "used_at")
MANIFEST_FORMAT = "chungtay-backup/1"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """Something an operator must fix; `reason` is a code the CLI turns into words."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason, self.params = reason, params


@dataclass(frozen=True)
class Snapshot:
    """What a database (or a backup of it) holds, enough to compare two of them."""

    newest: datetime | None  # the latest activity timestamp of any table
    cases: int
    revisions: tuple[str, ...]  # Alembic revisions (several heads while branches merge)


@dataclass
class Manifest:
    """Written beside every backup as `<file>.json`: what it holds and which key reads it."""

    backend: str
    taken_at: str
    newest: str | None
    cases: int
    revisions: list[str]
    key_fingerprints: list[str] = field(default_factory=list)
    format: str = MANIFEST_FORMAT


def fingerprint(key: str) -> str:
    """A short, non-reversible name for a key, to tell which key a backup needs."""
    return hashlib.sha256(key.strip().encode()).hexdigest()[:12]


def backend(url: str) -> str:
    return make_url(url).get_backend_name()


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("memory_database")
    return Path(database).expanduser()


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _newest(values: Iterable[Any]) -> datetime | None:
    found = [v for v in (_as_utc(x) for x in values) if v is not None]
    return max(found) if found else None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---- SQLite ---------------------------------------------------------------------------------


def _open_sqlite(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def check_sqlite_file(path: Path) -> None:
    """Refuse anything that is not a whole, healthy SQLite database of this application."""
    if not path.is_file():
        raise BackupError("missing_file", path=str(path))
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError("not_sqlite", path=str(path))
    connection = _open_sqlite(path)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError("corrupt", path=str(path), detail=str(result)[:200])
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        connection.close()
    if not {"alembic_version", "child_case"} <= tables:
        raise BackupError("not_ours", path=str(path))


def inspect_sqlite(path: Path) -> Snapshot:
    """Newest activity, number of cases and schema revision of a SQLite file (read only)."""
    connection = _open_sqlite(path)
    try:
        return _inspect_sqlite_connection(connection)
    finally:
        connection.close()


def _inspect_sqlite_connection(connection: sqlite3.Connection) -> Snapshot:
    tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    newest: list[Any] = []
    for table in tables:
        columns = {row[1] for row in connection.execute(f"PRAGMA table_info({_quote(table)})")}
        for column in ACTIVITY_COLUMNS:
            if column in columns:
                newest.append(connection.execute(f"SELECT MAX({_quote(column)}) FROM {_quote(table)}").fetchone()[0])
    cases = connection.execute("SELECT COUNT(*) FROM child_case").fetchone()[0] if "child_case" in tables else 0
    revisions: tuple[str, ...] = ()
    if "alembic_version" in tables:
        revisions = tuple(sorted(row[0] for row in connection.execute("SELECT version_num FROM alembic_version")))
    return Snapshot(_newest(newest), int(cases), revisions)


def copy_sqlite(source: Path, target: Path) -> Snapshot:
    """A consistent copy of a live SQLite database, checked and made private (0600).

    One backup step (pages=-1) copies every page under a single read transaction: a snapshot,
    while the bot keeps writing to the WAL. The copy is a single self-contained file.
    """
    if not source.is_file():
        raise BackupError("missing_file", path=str(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src, dst = _open_sqlite(source), sqlite3.connect(partial)
    try:
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")
        result = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError("corrupt", path=str(source), detail=str(result)[:200])
        snapshot = _inspect_sqlite_connection(dst)
    except BaseException:
        dst.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    os.replace(partial, target)
    return snapshot


def restore_sqlite(backup: Path, target: Path) -> None:
    """Replace the database at `target` with the backup, through SQLite's own locking."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = _open_sqlite(backup), _open_sqlite(target)
    try:
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        src.close()
        dst.close()
    os.chmod(target, 0o600)


def sample_tokens_sqlite(path: Path, columns: Iterable[tuple[str, str]], limit: int = 3) -> list[str]:
    """A few ciphertexts from a SQLite file, to check which key opens it."""
    connection = _open_sqlite(path)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        found: list[str] = []
        for table, column in columns:
            if table not in tables:
                continue
            query = f"SELECT {_quote(column)} FROM {_quote(table)} WHERE {_quote(column)} IS NOT NULL LIMIT {int(limit)}"
            found += [row[0] for row in connection.execute(query) if isinstance(row[0], str)]
        return found
    finally:
        connection.close()


# ---- any backend, through SQLAlchemy --------------------------------------------------------


async def inspect(engine: AsyncEngine) -> Snapshot:
    """The summary of a live database (SQLite through sqlite3 on a thread, like its backups)."""
    if engine.dialect.name == "sqlite":
        path = sqlite_path(engine.url.render_as_string())
        if not path.is_file():
            return Snapshot(None, 0, ())
        return await asyncio.to_thread(inspect_sqlite, path)
    async with engine.connect() as connection:
        return await _inspect_connection(connection)


async def _inspect_connection(connection: AsyncConnection) -> Snapshot:
    """PostgreSQL: the same summary, inside the caller's transaction (and so its snapshot)."""
    rows = await connection.execute(text(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name = ANY(:names)"
    ), {"names": list(ACTIVITY_COLUMNS)})
    pairs = [(r[0], r[1]) for r in rows]
    tables = {r[0] for r in await connection.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    ))}
    newest = [(await connection.execute(text(f"SELECT MAX({_quote(c)}) FROM {_quote(t)}"))).scalar() for t, c in pairs]
    cases = (await connection.execute(text("SELECT COUNT(*) FROM child_case"))).scalar() if "child_case" in tables else 0
    revisions: tuple[str, ...] = ()
    if "alembic_version" in tables:
        revisions = tuple(sorted(r[0] for r in await connection.execute(text("SELECT version_num FROM alembic_version"))))
    return Snapshot(_newest(newest), int(cases or 0), revisions)


# ---- PostgreSQL -----------------------------------------------------------------------------


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/psql and the environment that carries the password
    (never on the command line, where `ps` shows it to every user)."""
    parsed: URL = make_url(url)
    dsn = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port, database=parsed.database)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    ssl = parsed.query.get("sslmode") or parsed.query.get("ssl")
    if isinstance(ssl, str) and ssl:
        env["PGSSLMODE"] = "require" if ssl in ("true", "1") else ssl
    return dsn.render_as_string(hide_password=False), env


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError("tool_missing", tool=name)
    return found


async def _run(args: list[str], env: dict[str, str], stdin: bytes | None = None) -> bytes:
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    if process.returncode != 0:
        raise BackupError("tool_failed", tool=Path(args[0]).name, detail=err.decode(errors="replace").strip()[-500:])
    return out


async def dump_postgres(engine: AsyncEngine, url: str, target: Path) -> Snapshot:
    """pg_dump (custom format) of exactly the snapshot our summary was computed on."""
    pg_dump = tool("pg_dump")
    dsn, env = libpq(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            snapshot_id = (await connection.execute(text("SELECT pg_export_snapshot()"))).scalar()
            summary = await _inspect_connection(connection)
            try:
                await _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot_id}",
                            f"--file={partial}", dsn], env)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
    os.chmod(partial, 0o600)
    os.replace(partial, target)
    return summary


async def dump_tables(backup: Path) -> set[str]:
    """Table names inside a pg_dump archive (from its table of contents)."""
    listing = await _run([tool("pg_restore"), "--list", str(backup)], dict(os.environ))
    names = set()
    for line in listing.decode(errors="replace").splitlines():
        parts = line.split()
        if not line.startswith(";") and "TABLE" in parts and "DATA" not in parts:
            at = parts.index("TABLE")
            if len(parts) > at + 2:
                names.add(parts[at + 2])
    return names


async def restore_postgres(engine: AsyncEngine, url: str, backup: Path) -> None:
    """Put a pg_dump archive back in one transaction: all of it or nothing.

    Tables the archive does not have (added by later migrations) are dropped first, so the
    migrations that follow can create them again from the restored schema revision.
    """
    pg_restore, psql = tool("pg_restore"), tool("psql")
    dsn, env = libpq(url)
    in_dump = await dump_tables(backup)
    if "child_case" not in in_dump:
        raise BackupError("not_ours", path=str(backup))
    async with engine.connect() as connection:
        present = {r[0] for r in await connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ))}
    script = b"".join(f"DROP TABLE IF EXISTS {_quote(name)} CASCADE;\n".encode() for name in sorted(present - in_dump))
    script += await _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--file=-", str(backup)], env)
    await _run([psql, "-X", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1", "--file=-", dsn], env, stdin=script)


# ---- manifests --------------------------------------------------------------------------------


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".json")


def write_manifest(backup: Path, backend_name: str, snapshot: Snapshot, keys: Iterable[str], now: datetime) -> Path:
    manifest = Manifest(
        backend=backend_name, taken_at=now.astimezone(UTC).isoformat(),
        newest=snapshot.newest.isoformat() if snapshot.newest else None, cases=snapshot.cases,
        revisions=list(snapshot.revisions), key_fingerprints=[fingerprint(k) for k in keys],
    )
    path = manifest_path(backup)
    path.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    os.chmod(path, 0o600)
    return path


def read_manifest(backup: Path) -> Manifest | None:
    path = manifest_path(backup)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("format") != MANIFEST_FORMAT:
            return None
        return Manifest(**data)
    except (ValueError, TypeError):
        return None


def snapshot_of(manifest: Manifest) -> Snapshot:
    return Snapshot(_as_utc(manifest.newest), manifest.cases, tuple(manifest.revisions))
