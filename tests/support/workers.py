"""`python -m bot run --workers N` as a real process tree, and which worker holds which connection.

The supervisor starts one `python -m bot run` per worker; they share the webhook port with
SO_REUSEPORT. To show that both workers really took part, we look in /proc (Linux) for the
webhook connections each worker process has accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

from tests.support.process import ROOT

ESTABLISHED, LISTEN = "01", "0A"  # TCP states as /proc/net/tcp writes them


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_workers(env: dict[str, str], count: int, log: Path) -> asyncio.subprocess.Process:
    """The supervisor, in its own session so a test can always clean up the whole tree."""
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--workers", str(count), cwd=ROOT,
                                                    env=env, stdout=out, stderr=out, start_new_session=True)


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def sockets_on(pid: int, port: int, state: str) -> int:
    """How many TCP sockets of `pid` have local port `port` in `state` (LISTEN, ESTABLISHED)."""
    mine = _socket_inodes(pid)
    count = 0
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                local, st, inode = fields[1], fields[3], fields[9]
                if int(local.rsplit(":", 1)[1], 16) == port and st == state and inode in mine:
                    count += 1
    return count


async def wait_listening(supervisor: asyncio.subprocess.Process, count: int, port: int, timeout: float = 30) -> list[int]:
    """The worker pids, once each of the `count` workers listens on the webhook port."""
    deadline = time.monotonic() + timeout
    while True:
        workers = children(supervisor.pid)
        if len(workers) == count and all(sockets_on(pid, port, LISTEN) for pid in workers):
            return workers
        if supervisor.returncode is not None or time.monotonic() > deadline:
            raise AssertionError(f"{count} workers did not start listening on port {port} (running: {workers})")
        await asyncio.sleep(0.1)


async def stop_workers(supervisor: asyncio.subprocess.Process, timeout: float = 30) -> int | None:
    """SIGTERM to the supervisor (it passes it on); SIGKILL to the whole tree if that hangs."""
    if supervisor.returncode is not None:
        return supervisor.returncode
    workers = children(supervisor.pid)
    supervisor.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(supervisor.wait(), timeout=timeout)
    except TimeoutError:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        supervisor.kill()
        await supervisor.wait()
        return None
