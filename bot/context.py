"""What a handler gets: the event, who sent it, their chat state, one open transaction.

`ctx.session` is an ORM session on the update's transaction, made the first time a handler asks
for it (most updates, answers to a form, never need one: see storage/unit.py).

`ctx.file(id)` is a file held by the channel (a photo, a workbook). It is never downloaded inside
the update's transaction: on SQLite that would hold up every other person's update for as long
as the download takes. The first ask ends the attempt (FileNeeded), App rolls it back, downloads
the file with no transaction open, and runs the update again with the file at hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import i18n
from bot.core import Event, Reply
from storage.models import Conversation, Person
from storage.unit import Unit

if TYPE_CHECKING:
    from bot.app import App


class FileNeeded(Exception):
    """The handler needs a channel file first (see the module); App handles it, never a handler."""

    def __init__(self, file_id: str) -> None:
        super().__init__("a channel file is needed")
        self.file_id = file_id


@dataclass
class Context:
    app: App
    unit: Unit
    event: Event
    person: Person
    chat: Conversation
    now: datetime
    lang: str
    outgoing: list[Reply] = field(default_factory=list)  # to other people, via the outbox
    files: dict[str, bytes | Exception] = field(default_factory=dict)  # downloaded before this try

    @property
    def session(self) -> AsyncSession:
        return self.unit.session

    @property
    def settings(self):
        return self.app.settings

    @property
    def today(self) -> date:
        return self.now.astimezone(i18n.VN_TZ).date()

    def file(self, file_id: str) -> bytes | Exception:
        """The file's bytes, or the channel's error downloading it (the caller words the apology).
        Raises FileNeeded when it has not been downloaded yet: that ends this try (module)."""
        if file_id not in self.files:
            raise FileNeeded(file_id)
        return self.files[file_id]

    def notify(self, person: Person, reply: Reply) -> None:
        """Queue a message to someone else; it is sent after this transaction commits."""
        self.outgoing.append(reply.with_target(person.channel, person.chat_id))
