"""What the bot says is true on Zalo too, where there are no buttons: every option is a numbered
line, and a notification that arrives through the outbox (not as an answer) has no saved menu for
a typed number to reach, so its text says what to type."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir

from bot import jobs
from bot.app import App
from tests.support import Chat, Clock, outbox_messages
from tests.test_donor_helpers import all_pledges, person, publish
from tests.test_donor_thanks import deliver, fund, messages_to
from tests.test_staff_helpers import STAFF, make_case

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "t": None, "ngettext": (1, 2)}
# Messages that may say only "bấm", and why.
TELEGRAM_ONLY_FILES = {"bot/ops/chat_import.py"}  # /nhap needs a file; Zalo gives bots no files
KNOWN: set[str] = set()


def button_only_messages() -> list[tuple[str, str]]:
    """(file, message) for every message that says "bấm" without a typed way or "on Telegram"."""
    found = []
    for package in ("bot", "conversations", "storage"):
        for filename, _line, message, _comments, _context in extract_from_dir(ROOT / package, keywords=KEYWORDS):
            path = f"{package}/{filename}"
            for text in [message] if isinstance(message, str) else [m for m in message if m]:
                if "bấm" not in text.lower() or path in TELEGRAM_ONLY_FILES or text in KNOWN:
                    continue
                if "gõ" not in text.lower() and "telegram" not in text.lower():
                    found.append((path, text))
    return found


def test_no_message_asks_only_for_a_tap() -> None:
    assert button_only_messages() == []


async def test_the_guest_menu_says_how_to_join_by_typing(app: App) -> None:
    guest = Chat(app, "z-guest", channel="zalo")
    await guest.send("/start")
    assert "gõ /start kèm mã mời" in guest.text


async def test_an_invite_without_a_deep_link_says_only_what_to_type(app: App) -> None:
    staff = Chat(app, STAFF)
    await staff.send("/moi ban ho, lao cai")
    assert "Người được mời gõ cho bot (trên Zalo hay Telegram đều được): /start " in staff.text
    assert "«Start»" not in staff.text


async def test_an_invite_with_a_deep_link_says_both_ways(app: App) -> None:
    app.settings.bot_username = "ChungTayLaoCaiBot"
    staff = Chat(app, STAFF)
    await staff.send("/moi ban ho, lao cai")
    assert "Trên Telegram: người được mời mở đường link" in staff.text
    assert "Trên Zalo, hoặc khi không mở được đường link: người được mời gõ cho bot /start " in staff.text


async def test_a_new_staff_member_is_told_to_type_start(app: App) -> None:
    staff = Chat(app, STAFF)
    await staff.send("/nhanvien them 424242")
    assert "gõ /start" in staff.text


async def test_the_recheck_reminder_says_what_to_type_and_that_works(app: App, collaborator: Chat, clock: Clock) -> None:
    case = await make_case(app, reporter="501")
    clock.now = datetime(2027, 2, 23, 1, 30, tzinfo=UTC)  # 91 days later, 08:30 in Hanoi
    await jobs.run_due(app, clock.now)
    [reminder] = [m for m in await outbox_messages(app) if m.kind == "reminder"]
    typed = f"/rasoat {case.code} ok"
    assert typed in reminder.payload["text"] and "/rasoat <mã> doi" in reminder.payload["text"]
    await collaborator.send(typed)
    assert f"hồ sơ {case.code} không thay đổi" in collaborator.text


async def test_the_thank_you_says_how_to_get_the_certificate_by_typing(app: App) -> None:
    case = await publish(app, needs={"education": 500_000})
    await fund(app, case.id, ("7401", "Hường", "500k"))
    assert await deliver(app, case.id) == 1
    me = await person(app, "7401")
    [pledge] = [p for p in await all_pledges(app) if p.donor_id == me.id]
    [thanks] = [p for p in await messages_to(app, "7401") if "Hỗ trợ đã tới tay trẻ" in p["text"]]
    assert f"gõ /giaycamon {pledge.ref}" in thanks["text"] and "Bấm nút bên dưới" not in thanks["text"]
    chat = Chat(app, "7401")
    await chat.send(f"/giaycamon {pledge.ref}")
    assert chat.replies[0].document is not None


async def test_a_cancelled_answer_says_how_to_answer_later(app: App, collaborator: Chat) -> None:
    case = await make_case(app, reporter="501")
    staff = Chat(app, STAFF)
    await staff.send(f"/hoi {case.code}")
    await staff.answers("Cháu đang học lớp mấy?", "gửi")
    [question] = [m for m in await outbox_messages(app) if m.chat_id == "501" and "Cán bộ hỏi thêm" in m.payload["text"]]
    number = question.payload["text"].rsplit("/traloi ", 1)[1].rstrip(".")
    await collaborator.send(f"/traloi {number}")
    await collaborator.send("/huy")
    await collaborator.send("có")
    assert f"gõ /traloi {number}" in collaborator.text

