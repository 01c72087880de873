"""The systemd unit and the operations guide say what the issue promises."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "chungtay.service"
GUIDE = ROOT / "docs" / "operations.md"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_the_unit_restarts_on_failure_stops_gracefully_and_logs_to_the_journal() -> None:
    service = unit()["Service"]
    assert service["ExecStart"] == "/opt/chungtay/.venv/bin/python -m bot run"
    assert service["EnvironmentFile"] == "/etc/chungtay/env"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM" and service["TimeoutStopSec"] == "30s"
    assert service["StandardOutput"] == "journal" and service["StandardError"] == "journal"
    assert service["User"] == "chungtay" and service["UMask"] == "0077"
    assert service["ReadWritePaths"] == "/opt/chungtay/data" and service["ProtectSystem"] == "strict"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    copy = tmp_path / "chungtay.service"
    copy.write_text(UNIT.read_text().replace("/opt/chungtay/.venv/bin/python", sys.executable))
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "chungtay.service" in line]
    assert not complaints, complaints


def test_the_guide_covers_every_operation() -> None:
    guide = GUIDE.read_text()
    for needed in ("BotFather", "/setjoingroups", "Zalo", "WEBHOOK_URL", "nginx", "proxy_pass", "/healthz",
                   "deploy/chungtay.service", "journalctl", "backup", "restore", "--force", "rotate-key",
                   "DATA_KEY=<new>,<old>", "import", "--dry-run", "/nhap", "RETENTION_YEARS", "retention --dry-run",
                   "sample-children.xlsx", "pg_dump"):
        assert needed in guide, needed
    from bot.settings import Settings

    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in guide, f"setting {name.upper()} is not documented"
