"""The operations commands of the CLI (`python -m bot backup|restore|rotate-key|import …`)."""

from __future__ import annotations

import argparse

from bot.settings import Settings


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Declare the operations subcommands on the main parser."""


def run(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run an operations subcommand; None when `args.command` is not one of them."""
    return None
