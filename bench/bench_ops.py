"""Operations bench: how long an import, a backup and a key rotation take on a realistic list.

    .venv/bin/python bench/bench_ops.py [--rows 3000] [--database-url postgresql+asyncpg://.../scratch]

Builds a workbook of N children (the shape of docs/sample-children.xlsx), checks and imports it
(one transaction), backs the database up, and rotates the data key over everything. Without
--database-url it uses a temporary SQLite file; a PostgreSQL database given here must be a
throw-away one: the bench fills it and leaves it under a key nobody keeps.

Measured on the shared 2-core development machine under load (load average about 6), 3,000 rows:
SQLite: check 0.9 ms/row, import 7.2 ms/case (21 s), backup 0.23 s, rotate-key 2,070 values/s;
PostgreSQL 15: check 0.6 ms/row, import 6.2 ms/case (19 s), backup (pg_dump) 0.34 s,
rotate-key 1,950 values/s.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from datetime import date
from pathlib import Path

from cryptography.fernet import Fernet
from openpyxl import Workbook

from bot.app import App
from bot.ops import backup as ops_backup
from bot.ops import importer
from bot.settings import Settings
from storage import rekey

COMMUNES = ["Bản Hồ", "Sa Pa", "Bắc Hà", "Mường Hum", "Y Tý"]
GROUPS = ["Mồ côi cả cha và mẹ", "Khuyết tật", "Bỏ học kiếm sống", "a, d", "Có nguy cơ"]


def workbook(rows: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["STT", "Họ và tên", "Giới tính", "Ngày sinh", "Tỉnh", "Xã/phường", "Thôn/bản", "Hoàn cảnh",
                  "Nhu cầu hỗ trợ", "Số tiền (VNĐ)", "Người chăm sóc", "Điện thoại", "Hộ nghèo"])
    for i in range(rows):
        sheet.append([i + 1, f"Lò Văn Số {i}", "Nam" if i % 2 else "Nữ", f"{1 + i % 28}/{1 + i % 12}/{2010 + i % 14}", "Lào Cai",
                      COMMUNES[i % 5], f"Thôn {i % 40}", GROUPS[i % 5], "Học tập; Y tế", "1,5 triệu", f"Lò Thị {i}",
                      f"09{i % 100_000_000:08d}", "x" if i % 3 == 0 else ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def main(rows: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(_env_file=None, database_url=url, data_key=Fernet.generate_key().decode())
        app = await App.open(settings)
        content = workbook(rows)
        try:
            started = time.perf_counter()
            async with app.db.transaction() as session:
                report = await importer.check(session, "bench.xlsx", content, today=date.today())
            checked = time.perf_counter()
            async with app.db.transaction() as session:
                await importer.apply(session, report, reporter_id=None, now=app.clock())
            imported = time.perf_counter()
            print(f"rows {rows}: check {checked - started:.2f} s ({(checked - started) / rows * 1000:.2f} ms/row), "
                  f"import {len(report.imported)} cases {imported - checked:.2f} s ({(imported - checked) / max(1, len(report.imported)) * 1000:.2f} ms/case), "
                  f"rejected {len(report.rejected)}")

            started = time.perf_counter()
            await ops_backup.backup(settings, Path(tmp) / "bench.backup")
            print(f"backup {time.perf_counter() - started:.2f} s")

            new = Fernet.generate_key().decode()
            started = time.perf_counter()
            result = await rekey.rotate(app.db.engine, new, settings.data_keys())
            elapsed = time.perf_counter() - started
            print(f"rotate-key {result.total('rewritten')} values {elapsed:.2f} s ({result.total('rewritten') / elapsed:.0f} values/s)")
        finally:
            await app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    asyncio.run(main(options.rows, options.database_url))
