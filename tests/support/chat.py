"""Drive whole conversations through the core, the way every channel does."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from bot.app import App
from bot.core import Event, Reply, render_numbered
from storage import people
from storage.models import OutboxMessage

_update_ids = itertools.count(1)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


class Chat:
    """One person talking to the bot. Every call returns the replies the person would see."""

    def __init__(self, app: App, user: str, channel: str = "telegram", locale: str | None = "vi") -> None:
        self.app, self.user, self.channel, self.locale = app, user, channel, locale
        self.replies: list[Reply] = []

    @classmethod
    async def collaborator(cls, app: App, user: str, commune: str = "Bản Hồ", province: str = "Lào Cai") -> Chat:
        from conversations.parsing import places

        prov = places.search_provinces(province)[0]
        ward = places.search_wards(prov.code, commune)[0]
        async with app.db.transaction() as session:
            invite = await people.create_invite(session, prov.code, ward.code, now=app.clock())
        chat = cls(app, user)
        await chat.send(f"/start {invite.code}")
        return chat

    @classmethod
    async def staff(cls, app: App, user: str) -> Chat:
        async with app.db.transaction() as session:
            await people.set_role(session, "telegram", user, "staff")
        return cls(app, user)

    async def event(self, **kw: object) -> list[Reply]:
        event = Event(self.channel, self.user, self.user, locale=self.locale, update=str(next(_update_ids)), **kw)  # type: ignore[arg-type]
        self.replies = await self.app.handle(event)
        return self.replies

    async def send(self, text: str) -> list[Reply]:
        event = Event.from_text(self.channel, self.user, self.user, text, locale=self.locale, update=str(next(_update_ids)))
        self.replies = await self.app.handle(event)
        return self.replies

    async def press(self, data: str) -> list[Reply]:
        return await self.event(button=data)

    async def photo(self, file_id: str) -> list[Reply]:
        return await self.event(photo=file_id)

    async def contact(self, phone: str) -> list[Reply]:
        return await self.event(contact=phone)

    async def answers(self, *texts: str) -> list[Reply]:
        for text in texts:
            await self.send(text)
        return self.replies

    @property
    def text(self) -> str:
        """Everything the last replies said, rendered as on a channel without buttons."""
        return "\n\n".join(render_numbered(r) for r in self.replies)

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    def button_data(self) -> list[str]:
        return [b.data for r in self.replies for b in r.flat_buttons()]


async def outbox_messages(app: App) -> list[OutboxMessage]:
    from sqlmodel import col, select

    async with app.db.transaction() as session:
        rows = list(await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
        for row in rows:
            session.expunge(row)
        return rows
