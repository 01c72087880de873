"""A CPU cap per process, with the kernel's CFS quota (cgroups), for the workers bench.

Two shared cores cannot show what a second worker adds: one worker, PostgreSQL and the load
generator already fill them. Capping each worker at a fraction of a core, as a container's CPU
limit does, gives every worker the same small core of its own, so the total shows whether the
workers scale or wait for each other (locks, one chat's order, the outbox). Needs root and the
cpu controller, cgroup v1 (`/sys/fs/cgroup/cpu`) or v2 (`cpu.max`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

PERIOD_US = 100_000
V1 = Path("/sys/fs/cgroup/cpu")
V2 = Path("/sys/fs/cgroup")


class CpuCapsUnavailable(RuntimeError):
    """No writable cpu controller here (not root, or no cgroup cpu controller)."""


def _root() -> tuple[Path, int]:
    """The cgroup folder to make groups in, and its version."""
    if (V1 / "cpu.cfs_quota_us").exists() and os.access(V1, os.W_OK):
        return V1, 1
    controllers = V2 / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split() and os.access(V2, os.W_OK):
        return V2, 2
    raise CpuCapsUnavailable("--worker-cpu needs root and a cgroup cpu controller (v1 /sys/fs/cgroup/cpu or v2 cpu.max)")


class CpuCaps:
    """Each process added gets a group of its own, limited to `cores` of one core."""

    def __init__(self, cores: float) -> None:
        self.quota_us = int(cores * PERIOD_US)
        self.root, self.version = _root()
        self.groups: list[Path] = []

    def add(self, pid: int) -> None:
        group = self.root / f"chungtay-bench-{os.getpid()}-{len(self.groups)}"
        group.mkdir()
        self.groups.append(group)
        if self.version == 1:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(self.quota_us))
        else:
            (group / "cpu.max").write_text(f"{self.quota_us} {PERIOD_US}")
        (group / "cgroup.procs").write_text(str(pid))  # the whole process, every thread

    def throttled_s(self) -> float:
        """Seconds the capped processes wanted to run and were held back (0 means the cap never bit)."""
        total = 0.0
        for group in self.groups:
            for line in (group / "cpu.stat").read_text().splitlines():
                key, value = line.split()
                if key == "throttled_time":  # v1, nanoseconds
                    total += int(value) / 1e9
                elif key == "throttled_usec":  # v2
                    total += int(value) / 1e6
        return total

    def remove(self) -> None:
        """After the processes have ended (a group with a process in it cannot go)."""
        for group in self.groups:
            with contextlib.suppress(OSError):
                group.rmdir()


@contextlib.contextmanager
def cpu_caps(cores: float) -> Iterator[CpuCaps]:
    caps = CpuCaps(cores)
    try:
        yield caps
    finally:
        caps.remove()
