"""The local chat: the real core in a terminal, for trying the bot and scripting conversations.

Buttons show as numbered options (type the number); `/as collaborator|donor|staff` switches who
you are. When standard input is not a terminal, every line is one message and every reply is
printed, so `printf '/baocao\\n...' | python -m bot chat` drives a whole conversation.
Messages the bot sends to other people (staff alerts) are printed too, marked with an arrow.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from bot.app import App
from bot.core import Event, Reply, render_numbered
from bot.delivery import OutboxSender, Pacer
from bot.i18n import _

CHANNEL = "local"
ROLES = ("collaborator", "donor", "staff")


def user_id(role: str) -> str:
    return f"local-{role}"


class LocalChat:
    def __init__(self, app: App, role: str = "collaborator", out: TextIO = sys.stdout) -> None:
        self.app, self.role, self.out = app, role, out
        self.sender = OutboxSender(app, CHANNEL, self._deliver, pacer=Pacer(per_second=1e6, chat_interval=0))

    async def prepare(self) -> None:
        """Create the three local people, so staff alerts have somewhere to go."""
        for role in ROLES:
            await self.app.impersonate(CHANNEL, user_id(role), "guest" if role == "donor" else role)

    def show(self, reply: Reply, prefix: str = "") -> None:
        text = render_numbered(reply)
        if reply.image is not None:
            text += f"\n[🖼 {len(reply.image):,} B]"
        if reply.document is not None:
            text += f"\n[📎 {reply.document[0]}]"
        self.out.write("\n".join(prefix + line for line in text.splitlines()) + "\n\n")
        self.out.flush()

    async def say(self, line: str) -> None:
        line = line.rstrip("\n")
        if not line.strip():
            return
        if line.startswith("/as"):
            parts = line.split()
            if len(parts) == 2 and parts[1] in ROLES:
                self.role = parts[1]
                self.out.write(f"[{self.role}]\n\n")
            else:
                self.out.write("/as collaborator | donor | staff\n\n")
            return
        me = user_id(self.role)
        for reply in await self.app.handle(Event.from_text(CHANNEL, me, me, line, locale=None)):
            self.show(reply)
        await self.sender.drain_once()

    async def _deliver(self, chat: str, reply: Reply) -> None:
        self.show(reply, prefix=f"→ [{chat}] ")

    async def run(self, stream: TextIO = sys.stdin) -> None:
        await self.prepare()
        interactive = stream.isatty()
        if interactive:
            self.out.write(_("Chung Tay · trò chuyện thử. Đổi vai: /as collaborator | donor | staff. Thoát: Ctrl-D") + "\n\n")
            await self.say("/start")
        while True:
            line = self._read_line(stream, f"{self.role}> " if interactive else "")
            if not line:
                if interactive:
                    self.out.write("\n")
                break
            await self.say(line)

    def _read_line(self, stream: TextIO, prompt: str) -> str:
        """The next line, or "" at the end of input or on Ctrl-C. The read blocks the event loop
        (a terminal chat has nothing else to do meanwhile), so the loop's own Ctrl-C handling would
        only take effect after the next Enter: here Ctrl-C ends the chat at once, as Ctrl-D does.
        The prompt is shown once Ctrl-C is ours, so a Ctrl-C typed right after it is not lost."""
        if threading.current_thread() is not threading.main_thread():
            return self._prompted(stream, prompt)
        previous = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            return self._prompted(stream, prompt)
        except KeyboardInterrupt:
            return ""
        finally:
            signal.signal(signal.SIGINT, previous)

    def _prompted(self, stream: TextIO, prompt: str) -> str:
        if prompt:
            self.out.write(prompt)
            self.out.flush()
        return stream.readline()
