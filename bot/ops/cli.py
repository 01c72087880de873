"""The operations commands of the CLI (`python -m bot backup|restore|rotate-key|import …`).

Each prints what it did in the operator's language (DEFAULT_LOCALE) and returns an exit code:
0 done, 1 refused or failed (nothing changed unless it says so), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot import event_loop, i18n
from bot.settings import Settings

COMMANDS = ("backup", "restore", "rotate-key", "import", "retention", "health")


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Declare the operations subcommands on the main parser."""
    backup = commands.add_parser("backup", help="consistent copy of the database while the bot runs (SQLite backup API; pg_dump for PostgreSQL)")
    backup.add_argument("file", type=Path, help="where to write the backup (keep DATA_KEY somewhere else)")
    backup.add_argument("--force", action="store_true", help="overwrite the file if it exists")

    restore = commands.add_parser("restore", help="put a backup back (stop the bot first); refuses to overwrite newer data")
    restore.add_argument("file", type=Path, help="a file written by `backup`")
    restore.add_argument("--force", action="store_true", help="restore even over a database with newer data, or with a key that does not open the backup")

    rotate = commands.add_parser("rotate-key", help="re-encrypt every personal field under a new DATA_KEY (resumable)")
    rotate.add_argument("--new-key", help="the new Fernet key (default: the first of several in DATA_KEY, a pending one, or a fresh one)")
    rotate.add_argument("--batch-size", type=int, default=500, help="rows per committed batch")

    imp = commands.add_parser("import", help="check (and import) a province's list of children from .xlsx or .csv")
    imp.add_argument("file", type=Path, help="the workbook or CSV file")
    imp.add_argument("--dry-run", action="store_true", help="only check and report; write nothing")
    imp.add_argument("--province", help="province (code or name) for rows that leave it empty")
    imp.add_argument("--sheet", help="the sheet to read (default: the one with a recognisable header)")
    imp.add_argument("--include-duplicates", action="store_true", help="import likely duplicates too")
    imp.add_argument("--report", type=Path, help="also write the full report to this file")

    retention = commands.add_parser("retention", help="erase personal data of cases closed longer than RETENTION_YEARS now")
    retention.add_argument("--dry-run", action="store_true", help="only count the cases that would be erased")

    commands.add_parser("health", help="database reachable and outbox depth, as JSON (exit 1 when unhealthy)")


def run(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run an operations subcommand; None when `args.command` is not one of them."""
    if args.command not in COMMANDS:
        return None
    return event_loop.run(dispatch(args, settings))


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    with i18n.use(settings.default_locale):
        if args.command == "backup":
            from bot.ops.backup import backup

            return await backup(settings, args.file, force=args.force)
        if args.command == "restore":
            from bot.ops.backup import restore

            return await restore(settings, args.file, force=args.force)
        if args.command == "rotate-key":
            from bot.ops.rekey import rotate_key

            return await rotate_key(settings, args.new_key, batch_size=max(1, args.batch_size))
        if args.command == "import":
            from bot.ops.import_cli import import_file

            return await import_file(settings, args.file, dry_run=args.dry_run, province=args.province, sheet=args.sheet,
                                     include_duplicates=args.include_duplicates, report_path=args.report)
        if args.command == "retention":
            return await _retention(settings, dry_run=args.dry_run)
        return await _health(settings)


async def _retention(settings: Settings, dry_run: bool) -> int:
    from bot.app import App
    from bot.i18n import N_, t
    from bot.ops import retention

    app = await App.open(settings)
    try:
        now = app.clock()
        years = settings.retention_years
        if years <= 0:
            print(t(N_("RETENTION_YEARS={years}: dữ liệu cá nhân của hồ sơ đã đóng được giữ mãi."), years=years))
            return 0
        if dry_run:
            async with app.db.transaction() as session:
                due = await retention.count_due(session, now, years)
            print(t(N_("{n} hồ sơ đã đóng trước {date} sẽ bị xóa dữ liệu cá nhân (chạy thử: chưa xóa gì)."), n=due, date=i18n.day(retention.cutoff(now, years).date())))
            return 0
        outcome = await retention.erase_expired(app.db, now, years)
        print(t(N_("Đã xóa dữ liệu cá nhân của {n} hồ sơ đã đóng trước {date}; các số liệu ẩn danh được giữ."), n=outcome.erased, date=i18n.day(retention.cutoff(now, years).date())))
        return 0
    finally:
        await app.close()


async def _health(settings: Settings) -> int:
    from bot.app import App
    from bot.ops.health import health, healthy

    try:
        app = await App.open(settings, run_migrations=False)
    except Exception as exc:
        print(json.dumps({"database": f"error: {type(exc).__name__}", "outbox_pending": None}))
        return 1
    try:
        report = await health(app)
    finally:
        await app.close()
    print(json.dumps(report))
    return 0 if healthy(report) else 1
