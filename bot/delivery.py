"""Getting messages out, whatever the channel: splitting, pacing, retrying, the outbox sender.

Channels report failures with three neutral exceptions, so the rules live here once:
RetryLater (the platform said when: 429 retry_after), Transient (5xx, time-out, network: retry
with back-off) and Permanent (blocked by the user, chat gone: never retry).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from bot.core import Reply, numbered_options

if TYPE_CHECKING:
    from bot.app import App
    from storage.models import OutboxMessage

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    retry_after: float | None = None


class RetryLater(DeliveryError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.retry_after = float(seconds)


class Transient(DeliveryError):
    """Worth retrying with back-off: server error, time-out, network."""


class Permanent(DeliveryError):
    """Never worth retrying: blocked by the user, chat not found, bad request."""


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long text into parts of at most `limit` characters, at line breaks where possible.

    Telegram counts UTF-16 code units; we count code points and keep a margin for astral
    characters (emoji) by measuring in UTF-16 units.
    """
    if _units(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if _units(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while _units(line) > limit:  # one very long line: cut at a space, else hard
            cut = _cut_point(line, limit)
            parts.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        current = line
    if current:
        parts.append(current)
    return [p for p in parts if p.strip()] or [text[:limit]]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut_point(line: str, limit: int) -> int:
    end = limit
    while _units(line[:end]) > limit:
        end -= 1
    space = line.rfind(" ", 0, end)
    return space if space > end // 2 else end


class Pacer:
    """At most `per_second` sends for the bot and one every `chat_interval` seconds per chat.

    Sends follow a timetable of evenly spaced slots, so sleep overshoot does not add up; a
    sender that falls more than a slot behind (a stalled loop, a busy machine) restarts the
    timetable from now instead of catching up, so it never releases a burst. A server counting
    any one-second window sees at most the limit. Telegram allows 30 a second; we pace at 29
    because requests do not arrive exactly as spaced (jitter squeezed 31 into a second at 30).
    """

    def __init__(self, per_second: float = 29.0, chat_interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / per_second
        self.chat_interval = chat_interval
        self.clock = clock
        self._last = float("-inf")
        self._chat_next: dict[str, float] = {}
        self._gate = asyncio.Lock()
        # A second line of defence against jitter: at most `burst` actual starts in any `window`
        # (30 in 1.03 s: never binding at a steady 29/s, it absorbs up to 30 ms of jitter).
        self.burst, self.window = int(per_second) + 1, 1.03
        self._starts: collections.deque[float] = collections.deque()

    async def wait(self, chat: str | None) -> None:
        """Return when this send may start. A chat's own interval is waited out before queueing
        for the global gate, so one busy chat never holds up the others."""
        if chat is not None and (ahead := self._chat_next.get(chat, 0.0) - self.clock()) > 0:
            await asyncio.sleep(ahead)
        async with self._gate:
            now = self.clock()
            slot = self._last + self.interval
            if slot < now - self.interval:  # behind the timetable: start it again, no catch-up
                slot = now
            while len(self._starts) >= self.burst and self._starts[0] > slot - self.window:
                slot = self._starts[0] + self.window  # never `burst` starts within `window`
                self._starts.popleft()
            if slot > now:
                await asyncio.sleep(slot - now)
            self._last = slot
            self._starts.append(self.clock())
            while self._starts and self._starts[0] <= self._starts[-1] - self.window:
                self._starts.popleft()
        if chat is not None:
            self._chat_next[chat] = self._last + self.chat_interval

    def back_off(self, seconds: float) -> None:
        """After a 429: nobody sends for a moment."""
        self._last = max(self._last, self.clock() + seconds - self.interval)

    def forget_idle(self) -> None:
        now = self.clock()
        for chat in [c for c, t in self._chat_next.items() if t < now]:
            del self._chat_next[chat]


SendOne = Callable[[str, Reply], Awaitable[None]]  # (chat id, reply); raises DeliveryError


class ChatTurns:
    """Updates of one chat one after another, different chats at once, and whether any update
    is still in hand (a stopping bot waits for `idle`). Shared by the Telegram and Zalo channels."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    @contextlib.asynccontextmanager
    async def turn(self, chat: str) -> AsyncIterator[None]:
        """Wait for the chat's earlier updates (asyncio locks are first come, first served)."""
        lock = self._locks.get(chat)
        if lock is None:
            lock = self._locks[chat] = asyncio.Lock()
        self.in_flight += 1
        self.idle.clear()
        try:
            async with lock:
                yield
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.idle.set()


async def send_now(send: SendOne, chat: str, replies: Iterable[Reply], attempts: int = 3) -> list[Reply]:
    """Send direct answers in order, retrying briefly; return what could not be sent.

    What is left goes to the outbox, so an answer is delayed rather than lost.
    """
    replies = list(replies)
    for index, reply in enumerate(replies):
        if not await _send_with_retries(send, chat, reply, attempts):
            return replies[index:]
    return []


class InOrder:
    """Answers of a chat arrive in order, even when one had to wait in the outbox: until the
    outbox has sent what it holds for the chat, later answers join it there instead of
    overtaking it. Only chats this process delayed are checked, so others cost nothing more."""

    def __init__(self, app: App, channel: str) -> None:
        self.app, self.channel = app, channel
        self._behind: set[str] = set()

    async def answer(self, send: SendOne, chat: str, replies: list[Reply]) -> None:
        if chat in self._behind:
            if await self.app.outbox_waiting(self.channel, chat):
                await self.app.enqueue(self.channel, chat, replies)
                return
            self._behind.discard(chat)
        leftover = await send_now(send, chat, replies)
        if leftover:
            log.warning("answers delayed to the outbox: %d", len(leftover))
            self._behind.add(chat)
            await self.app.enqueue(self.channel, chat, leftover)


async def _send_with_retries(send: SendOne, chat: str, reply: Reply, attempts: int) -> bool:
    """True when sent (or when it never can be: a blocked bot); False to hand it to the outbox."""
    for attempt in range(attempts):
        try:
            await send(chat, reply)
            return True
        except RetryLater as exc:
            if (exc.retry_after or 0) > 5:
                return False
            await asyncio.sleep(exc.retry_after or 1)
        except Transient:
            await asyncio.sleep(0.2 * 2**attempt)
        except Permanent:
            log.info("reply dropped: the chat refuses messages")
            return True
    return False


class OutboxSender:
    """Drains the outbox for one channel: paced, in order per chat, marked sent only once the
    platform accepted it, retried with back-off; resumes after a restart (it's all in the DB)."""

    def __init__(self, app: App, channel: str, send: SendOne, pacer: Pacer | None = None, concurrency: int = 32) -> None:
        self.app, self.channel, self.send = app, channel, send
        self.pacer = pacer or Pacer()
        self.concurrency = concurrency
        # Checked before every message, not once a round: a round can hold hundreds of messages
        # for one chat (1 a second), and shutdown must not wait for all of them.
        self._stop: asyncio.Event | None = None
        self._deadline: float | None = None

    def _should_stop(self) -> bool:
        return (self._stop is not None and self._stop.is_set()) or (
            self._deadline is not None and time.monotonic() >= self._deadline)

    async def drain_once(self, limit: int = 500) -> int:
        """Send what is due now. Returns how many were sent."""
        from storage import outbox

        async with self.app.db.transaction() as session:
            due = await outbox.claim(session, self.channel, limit=limit, now=self.app.clock())
            for message in due:
                session.expunge(message)
        by_chat: dict[str, list[OutboxMessage]] = defaultdict(list)
        for message in due:
            by_chat[message.chat_id].append(message)
        gate = asyncio.Semaphore(self.concurrency)
        results = await asyncio.gather(*(self._send_chat(gate, chat, messages) for chat, messages in by_chat.items()))
        self.pacer.forget_idle()
        return sum(results)

    async def _send_chat(self, gate: asyncio.Semaphore, chat: str, messages: list[OutboxMessage]) -> int:
        from bot.app import payload_to_reply
        from storage import chat_state, outbox

        sent = 0
        async with gate:
            for index, message in enumerate(messages):
                assert message.id is not None
                if self._should_stop():  # shutting down: the rest go back, for the next start
                    await self._release(messages[index:])
                    break
                await self.pacer.wait(chat)
                reply = payload_to_reply(message.payload)
                try:
                    await self.send(chat, reply)
                except DeliveryError as exc:
                    async with self.app.db.transaction() as session:
                        if isinstance(exc, Permanent):
                            await outbox.mark_failed(session, message.id, type(exc).__name__, now=self.app.clock(), permanent=True)
                        else:
                            await outbox.mark_failed(session, message.id, type(exc).__name__, exc.retry_after, now=self.app.clock())
                    if isinstance(exc, RetryLater) and exc.retry_after:
                        self.pacer.back_off(min(exc.retry_after, 5.0))
                    await self._release(messages[index + 1 :])
                    break  # keep this chat's order: the rest wait for the next round
                async with self.app.db.transaction() as session:
                    await outbox.mark_sent(session, message.id, now=self.app.clock())
                    options = numbered_options(reply)
                    if options:
                        await chat_state.remember_menu(session, self.channel, chat, [b.data for b in options])
                sent += 1
        return sent

    async def _release(self, messages: list[OutboxMessage]) -> None:
        """Give back claimed messages not sent this round (their chat hit a failure)."""
        from storage import outbox

        if not messages:
            return
        async with self.app.db.transaction() as session:
            await outbox.release(session, [m.id for m in messages if m.id is not None], now=self.app.clock())

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Until `stop` is set: drain, then sleep until new messages or `idle` seconds."""
        self._stop = stop
        while not stop.is_set():
            try:
                sent = await self.drain_once()
            except Exception:
                log.exception("outbox round failed")
                sent = 0
            if sent:
                continue
            self.app.outbox_ready.clear()
            ready = asyncio.ensure_future(self.app.outbox_ready.wait())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({ready, stopping}, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for task in (ready, stopping):
                task.cancel()

    async def flush(self, deadline: float = 10.0) -> None:
        """On shutdown: send what is due, within a deadline."""
        end = time.monotonic() + deadline
        self._stop, self._deadline = None, end
        try:
            while time.monotonic() < end:
                if not await self.drain_once():
                    return
        finally:
            self._deadline = None
