"""Account linking lives with the roles, not in a channel: the channel modules only translate
(DESIGN.md), /lienket and /id work in every mode, and /trogiup tells every role about /lienket.

The linking scenarios themselves (codes, refusals, undo, roles) are in tests/test_zalo_channel.py.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bot import commands
from bot.app import App
from storage import people
from tests.support import Chat

ROOT = Path(__file__).resolve().parent.parent
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
# What a channel adapter must not import: the database, the forms, the role handlers, the router.
NOT_FOR_CHANNELS = ("storage", "conversations", "bot.roles", "bot.context", "bot.forms", "bot.router")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "bot" / "channels").glob("*.py")))
def test_channel_modules_never_reach_the_database_or_the_handlers(module: str) -> None:
    imports = imported_modules(ROOT / "bot" / "channels" / module)
    wrong = sorted(m for m in imports if any(m == banned or m.startswith(banned + ".") for banned in NOT_FOR_CHANNELS))
    assert wrong == [], f"bot/channels/{module} imports {wrong}"


def test_the_router_registers_linking_without_any_channel() -> None:
    """A fresh interpreter, as each mode starts: importing the router is enough, and it does not
    pull in the Zalo adapter to get there."""
    probe = (
        "import sys, bot.router\n"
        "from bot import commands\n"
        "names = ['lienket', 'link', 'id', 'whoami']\n"
        "print(','.join(commands.lookup(n).handler.__module__ if commands.lookup(n) else '-' for n in names))\n"
        "print('bot.channels.zalo' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    modules, zalo_loaded = result.stdout.split()
    assert modules.split(",") == ["bot.roles.linking"] * 4
    assert zalo_loaded == "False"


def test_linking_is_open_to_every_role() -> None:
    entry = commands.lookup("lienket")
    assert entry is not None and entry.roles == commands.EVERYONE


@SQLITE_ONLY
@pytest.mark.parametrize("channel", ["telegram", "zalo", "local"])
async def test_lienket_and_id_answer_on_every_channel(app: App, channel: str) -> None:
    chat = Chat(app, "4242", channel=channel)
    await chat.send("/lienket")
    assert "Mã liên kết của bạn" in chat.text and "/lienket " in chat.text
    await chat.send("/id")
    entry = "4242" if channel == "telegram" else f"{channel}:4242"
    assert "Mã của bạn trên " in chat.text and entry in chat.text


@SQLITE_ONLY
@pytest.mark.parametrize("role", ["guest", "donor", "collaborator", "staff"])
async def test_help_lists_lienket_once_for_every_role(app: App, role: str) -> None:
    user = {"guest": "7101", "donor": "7102", "collaborator": "7103", "staff": "7104"}[role]
    if role != "guest":
        async with app.db.transaction() as session:
            await people.set_role(session, "telegram", user, role)
    chat = Chat(app, user)
    await chat.send("/trogiup")
    help_text = chat.replies[0].text
    assert help_text.count("/lienket") == 1, help_text
    assert "Zalo" in help_text and "Telegram" in help_text


@SQLITE_ONLY
async def test_help_in_english_names_lienket(app: App) -> None:
    chat = Chat(app, "7105", locale="en")
    await chat.send("/trogiup")
    assert "/lienket — use one account on both Zalo and Telegram" in chat.replies[0].text


async def test_staff_ids_name_the_channel_in_any_case(settings, clock) -> None:
    """STAFF_IDS written by hand: «Zalo:abc» and « 9003 » are the Zalo user abc and Telegram 9003."""
    from bot.app import App
    from storage import people

    app = await App.open(settings.model_copy(update={"staff_ids": "Zalo:abc123, 9003 ;ZALO: def456"}), clock=clock)
    try:
        async with app.db.transaction() as session:
            found = [await people.find(session, channel, uid) for channel, uid in (("zalo", "abc123"), ("telegram", "9003"), ("zalo", "def456"))]
    finally:
        await app.close()
    assert [p.role if p else None for p in found] == ["staff", "staff", "staff"]
