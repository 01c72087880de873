"""Channel-neutral types: what a person did (Event) and what the bot says (Reply).

They know nothing of any messaging framework, so python-telegram-bot, aiogram, Zalo and the
local terminal chat all drive the same core, and scenario tests drive it directly.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from typing import Literal

CALLBACK_DATA_MAX_BYTES = 64


@dataclass(frozen=True, slots=True)
class Button:
    """One tappable option. `data` is short ASCII (Telegram allows 64 bytes of callback data)."""

    label: str
    data: str
    typed: str | None = None  # a control (back, skip, cancel): the word to type instead of a number

    def __post_init__(self) -> None:
        if not self.data or len(self.data.encode()) > CALLBACK_DATA_MAX_BYTES:
            raise ValueError(f"button data must be 1-{CALLBACK_DATA_MAX_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True, slots=True)
class Event:
    """What a person did, on any channel. Text is NFC-normalised on construction."""

    channel: str  # "telegram" | "zalo" | "local"
    user: str  # channel-scoped id, as text (Zalo ids are strings)
    chat: str
    locale: str | None = None  # the client's language code, if any
    update: str | None = None  # the channel's update id, for de-duplication
    text: str | None = None
    command: str | None = None  # "baocao" (without the slash), with args
    args: tuple[str, ...] = ()
    button: str | None = None  # callback data
    contact: str | None = None  # a shared phone number
    location: tuple[float, float] | None = None
    photo: str | None = None  # channel file id
    document: tuple[str, str] | None = None  # (channel file id, file name): bytes via App.fetch_file
    name: str | None = None  # the display name the channel gives, if any

    def __post_init__(self) -> None:
        if self.text is not None:
            object.__setattr__(self, "text", unicodedata.normalize("NFC", self.text))
        if self.args:
            args = tuple(unicodedata.normalize("NFC", a) for a in self.args)
            object.__setattr__(self, "args", args)

    @classmethod
    def from_text(cls, channel: str, user: str, chat: str, raw: str, **kw: object) -> Event:
        """Build an Event from typed text, splitting `/command args` the way Telegram does."""
        raw = unicodedata.normalize("NFC", raw)
        stripped = raw.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, *rest = stripped[1:].split()
            command = head.split("@", 1)[0].lower()
            return cls(channel, user, chat, command=command, args=tuple(rest), **kw)  # type: ignore[arg-type]
        return cls(channel, user, chat, text=raw, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says; each channel renders it as it can (buttons become numbered lines)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows
    ask: Literal["contact", "location"] | None = None
    image: bytes | None = None
    document: tuple[str, bytes] | None = None  # (file name, content)
    to: str | None = None  # another person's chat (alerts, notifications): sent via the outbox
    channel: str | None = None  # the channel of `to`, when it differs from the event's
    edit: bool = False  # a pressed menu: the channel may edit the message in place
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def with_target(self, channel: str, chat: str) -> Reply:
        return replace(self, to=chat, channel=channel)

    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


def numbered_options(reply: Reply) -> list[Button]:
    """The buttons that get a number (controls are typed as words), in display order."""
    return [b for b in reply.flat_buttons() if b.typed is None]


def render_numbered(reply: Reply) -> str:
    """Render a reply for a channel without buttons: options become `1. label` lines and
    controls one line of words to type.

    The same numbering is what a typed number resolves to (the router's saved menu and the form
    engine), so local chat, Zalo and Telegram users who prefer typing all see and type the same.
    """
    options = numbered_options(reply)
    controls = [b.typed for b in reply.flat_buttons() if b.typed is not None]
    if not options and not controls:
        return reply.text
    lines = [reply.text, ""]
    lines += [f"{i}. {b.label}" for i, b in enumerate(options, start=1)]
    if controls:
        lines.append("✎ " + " · ".join(controls))
    return "\n".join(lines)
