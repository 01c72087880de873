"""`make run` without a BOT_TOKEN: the local chat in a real terminal (a pseudo-terminal), as
someone trying the bot sees it. Ctrl-C ends it at once, and what was answered is kept."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
PROMPT = b"collaborator> "
CTRL_C = b"\x03"


class Terminal:
    """`python -m bot run` on a pseudo-terminal: what it prints, and keys typed at it."""

    def __init__(self, tmp_path: Path) -> None:
        key_file = tmp_path / "key"
        if not key_file.exists():
            key_file.write_text(Fernet.generate_key().decode())
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
                    "DATA_KEY": key_file.read_text(), "LOG_LEVEL": "WARNING"})
        self.output = b""
        self.ended = False
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the bot, with the terminal as its stdin and stdout
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "bot", "run"], env)

    def read_until(self, marker: bytes, timeout: float = 30) -> bytes:
        start = len(self.output)
        deadline = time.monotonic() + timeout
        while marker not in self.output[start:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {marker!r} after {timeout} s; the screen ends: {self.output[-800:]!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.output += os.read(self.fd, 4096)
                except OSError:  # the process has ended
                    break
        return self.output[start:]

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def exit_code(self, timeout: float = 15) -> int | None:
        """The exit code, or None if it is still running after `timeout` (then it is killed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with_output = select.select([self.fd], [], [], 0.1)[0]
            if with_output:
                with contextlib.suppress(OSError):
                    self.output += os.read(self.fd, 4096)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self._end()
                return os.waitstatus_to_exitcode(status)
        self.kill()
        return None

    def kill(self) -> None:
        """At the end of a test whatever happened: no bot left waiting on a terminal."""
        if not self.ended:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self._end()

    def _end(self) -> None:
        self.ended = True
        os.close(self.fd)


@pytest.fixture
def terminals(tmp_path: Path) -> Iterator[Callable[[], Terminal]]:
    """Start the bot on a terminal (again, on the same database); each is killed at the end."""
    started: list[Terminal] = []

    def start() -> Terminal:
        started.append(Terminal(tmp_path))
        return started[-1]

    yield start
    for terminal in started:
        terminal.kill()


def test_ctrl_c_ends_the_terminal_chat_at_once(terminals: Callable[[], Terminal]) -> None:
    terminal = terminals()
    terminal.read_until(PROMPT, timeout=60)
    terminal.type(CTRL_C)
    assert terminal.exit_code() == 0, terminal.output.decode(errors="replace")[-3000:]


def test_answers_given_before_ctrl_c_are_there_after_a_restart(terminals: Callable[[], Terminal]) -> None:
    terminal = terminals()
    terminal.read_until(PROMPT, timeout=60)
    terminal.type(b"/baocao\r")
    assert b"(1/17)" in terminal.read_until(PROMPT)
    terminal.type("Nguyễn Văn An\r".encode())
    assert b"(2/17)" in terminal.read_until(PROMPT)
    terminal.type(CTRL_C)
    assert terminal.exit_code() == 0

    again = terminals()
    screen = again.read_until(PROMPT, timeout=60).decode()
    assert "(2/17)" in screen and "Giới tính" in screen  # the open report, at the next question
    again.type(CTRL_C)
    assert again.exit_code() == 0
