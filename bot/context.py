"""What a handler gets: the event, who sent it, their chat state, one open transaction.

`ctx.session` is an ORM session on the update's transaction, made the first time a handler asks
for it (most updates, answers to a form, never need one: see storage/unit.py)."""

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

    @property
    def session(self) -> AsyncSession:
        return self.unit.session

    @property
    def settings(self):
        return self.app.settings

    @property
    def today(self) -> date:
        return self.now.astimezone(i18n.VN_TZ).date()

    def notify(self, person: Person, reply: Reply) -> None:
        """Queue a message to someone else; it is sent after this transaction commits."""
        self.outgoing.append(reply.with_target(person.channel, person.chat_id))
