"""Key rotation: re-encrypt every encrypted column of every table under a new key.

The columns are found from the table definitions (any EncryptedText/EncryptedJSON column of any
table in the metadata), so tables added later are covered without touching this file.

Ciphertext is handled raw, never decoded into values: each token is tried with the new key
alone (already rotated: left alone), else opened with the old keys and sealed with the new one.
Work goes in batches, each committed on its own, so an interrupted run loses nothing and a
second run finishes the job. Every write is compare-and-set on the old token, so a row the bot
changed meanwhile is not overwritten with a stale value; it is simply picked up again.
The audit log's triggers allow rewriting `detail` only, which is all a rotation writes.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from sqlalchemy import MetaData, Table, and_, inspect, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from storage.crypto import EncryptedJSON, EncryptedText, KeyRing

DEFAULT_BATCH = 500


@dataclass(frozen=True)
class EncryptedTable:
    """One table with encrypted columns, and the key to walk it in order."""

    name: str
    primary_key: tuple[str, ...]
    columns: tuple[str, ...]


@dataclass
class TableResult:
    rewritten: int = 0  # re-encrypted under the new key in this run
    already: int = 0  # found under the new key
    unreadable: int = 0  # opened by no key: left as it is, reported
    conflicts: int = 0  # changed by someone else between read and write: retried
    batches: int = 0


@dataclass
class RekeyResult:
    tables: dict[str, TableResult] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # declared but not in this database

    def total(self, attribute: str) -> int:
        return sum(getattr(r, attribute) for r in self.tables.values())


ProgressHook = Callable[[str, TableResult], None]


def load_all_tables() -> None:
    """Import every storage module, so the metadata knows every table (as migrations do)."""
    import storage

    for module in pkgutil.iter_modules(storage.__path__):
        if module.name != "migrations":
            importlib.import_module(f"storage.{module.name}")


def encrypted_tables(metadatas: Iterable[MetaData] | None = None) -> list[EncryptedTable]:
    """Every table with at least one encrypted column, found by column type."""
    if metadatas is None:
        load_all_tables()
        metadatas = (SQLModel.metadata,)
    found: dict[str, EncryptedTable] = {}
    for metadata in metadatas:
        for table in metadata.sorted_tables:
            columns = tuple(c.name for c in table.columns if isinstance(c.type, (EncryptedText, EncryptedJSON)))
            if columns and table.name not in found:
                found[table.name] = EncryptedTable(table.name, tuple(c.name for c in table.primary_key.columns), columns)
    return list(found.values())


def _raw(spec: EncryptedTable) -> Table:
    """The table with untyped columns: values come and go as the stored text, not decrypted."""
    from sqlalchemy import Column, Text

    return Table(spec.name, MetaData(), *(Column(n, primary_key=True) for n in spec.primary_key),
                 *(Column(n, Text) for n in spec.columns))


async def _existing(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


class Keys:
    """The new key alone (to recognise rotated tokens) and the old ring (to open the rest)."""

    def __init__(self, new_key: str, old_keys: Sequence[str]) -> None:
        self.new = KeyRing([new_key])
        self.old = KeyRing(old_keys) if old_keys else None

    def under_new(self, token: str) -> bool:
        try:
            self.new.decrypt(token)
        except InvalidToken:
            return False
        return True

    def reseal(self, token: str) -> str | None:
        """The token re-encrypted under the new key; None if no old key opens it."""
        if self.old is None:
            return None
        try:
            plain = self.old.decrypt(token)
        except InvalidToken:
            return None
        return self.new.encrypt(plain)


async def _rotate_table(engine: AsyncEngine, spec: EncryptedTable, keys: Keys, batch_size: int,
                        result: TableResult, progress: ProgressHook | None) -> None:
    table = _raw(spec)
    pk = [table.c[n] for n in spec.primary_key]
    cols = [table.c[n] for n in spec.columns]
    last: tuple | None = None
    while True:
        query = select(*pk, *cols).where(or_(*(c.is_not(None) for c in cols))).order_by(*pk).limit(batch_size)
        if last is not None:
            query = query.where(tuple_(*pk) > tuple_(*last) if len(pk) > 1 else pk[0] > last[0])
        async with engine.connect() as connection:
            rows = list(await connection.execute(query))
        if not rows:
            return
        writes: list[tuple[tuple, dict[str, str], dict[str, str]]] = []
        for row in rows:
            key = tuple(row[: len(pk)])
            old_values, new_values = {}, {}
            for name, token in zip(spec.columns, row[len(pk):], strict=True):
                if token is None:
                    continue
                if keys.under_new(token):
                    result.already += 1
                    continue
                sealed = keys.reseal(token)
                if sealed is None:
                    result.unreadable += 1
                    continue
                old_values[name], new_values[name] = token, sealed
            if new_values:
                writes.append((key, old_values, new_values))
        async with engine.begin() as connection:
            for key, old_values, new_values in writes:
                condition = and_(*(c == v for c, v in zip(pk, key, strict=True)),
                                 *(table.c[n] == v for n, v in old_values.items()))
                changed = await connection.execute(update(table).where(condition).values(**new_values))
                if changed.rowcount == 1:
                    result.rewritten += len(new_values)
                else:
                    result.conflicts += 1
        result.batches += 1
        last = tuple(rows[-1][: len(pk)])
        if progress is not None:
            progress(spec.name, result)


async def rotate(engine: AsyncEngine, new_key: str, old_keys: Sequence[str], *, batch_size: int = DEFAULT_BATCH,
                 metadatas: Iterable[MetaData] | None = None, progress: ProgressHook | None = None,
                 passes: int = 3) -> RekeyResult:
    """Re-encrypt everything under `new_key`. Safe to interrupt and to run again.

    Rows changed by someone else mid-batch (compare-and-set misses) get another pass, up to
    `passes`; whatever still remains is what `remaining()` reports.
    """
    keys = Keys(new_key, [k for k in old_keys if k != new_key])
    result = RekeyResult()
    existing = await _existing(engine)
    specs = []
    for spec in encrypted_tables(metadatas):
        if spec.name in existing:
            specs.append(spec)
        else:
            result.missing.append(spec.name)
    for _ in range(max(1, passes)):
        conflicts_before = result.total("conflicts")
        for spec in specs:
            table_result = result.tables.setdefault(spec.name, TableResult())
            await _rotate_table(engine, spec, keys, batch_size, table_result, progress)
        if result.total("conflicts") == conflicts_before:
            break
    return result


async def remaining(engine: AsyncEngine, new_key: str, metadatas: Iterable[MetaData] | None = None) -> dict[str, int]:
    """Per `table.column`, how many values the new key alone cannot open (0 everywhere: done)."""
    keys = Keys(new_key, [])
    existing = await _existing(engine)
    counts: dict[str, int] = {}
    for spec in encrypted_tables(metadatas):
        if spec.name not in existing:
            continue
        table = _raw(spec)
        async with engine.connect() as connection:
            for name in spec.columns:
                column = table.c[name]
                stream = await connection.stream(select(column).where(column.is_not(None)))
                left = 0
                async for (token,) in stream:
                    left += not keys.under_new(token)
                counts[f"{spec.name}.{name}"] = left
    return counts
