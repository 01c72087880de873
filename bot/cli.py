"""`python -m bot …` / `chungtay …`: run the bot, chat locally, migrate, manage staff and invites."""

from __future__ import annotations

import argparse
import logging
import sys

from bot import event_loop
from bot.ops import cli as ops_cli
from bot.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chungtay", description="Chung Tay: child-protection intake and outreach bot.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="start the bot (the channel from BOT_FRAMEWORK; the local chat without BOT_TOKEN)")
    run.add_argument("--workers", type=int, default=1, help="webhook mode: this many processes share the load")
    chat = commands.add_parser("chat", help="talk to the bot in this terminal (one message per line when piped)")
    chat.add_argument("--as", dest="role", choices=("collaborator", "donor", "staff"), default="collaborator")
    commands.add_parser("migrate", help="create or upgrade the database schema")
    staff = commands.add_parser("staff", help="manage staff")
    staff_commands = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    add = staff_commands.add_parser("add", help="make a user staff")
    add.add_argument("user_id", help="the person's user id on the channel (Telegram: a number)")
    add.add_argument("--channel", default="telegram")
    invite = commands.add_parser("invite", help="create a one-time collaborator invite for a commune")
    invite.add_argument("commune", nargs="+", help="commune/ward code, or part of its name (with --province)")
    invite.add_argument("--province", help="province code or name, to narrow a commune name")
    ops_cli.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command in (None, "run"):
        if getattr(args, "workers", 1) > 1:
            from bot.workers import supervise

            return event_loop.run(supervise(settings, args.workers))
        from bot.runner import run

        return event_loop.run(run(settings))
    if args.command == "chat":
        from bot.runner import chat

        return event_loop.run(chat(settings, args.role))
    if args.command == "migrate":
        from bot.runner import migrate

        return event_loop.run(migrate(settings))
    if args.command == "staff":
        from bot.runner import add_staff

        return event_loop.run(add_staff(settings, args.user_id, args.channel))
    if args.command == "invite":
        from bot.runner import invite

        return event_loop.run(invite(settings, " ".join(args.commune), args.province))
    result = ops_cli.run(args, settings)
    return 2 if result is None else result
