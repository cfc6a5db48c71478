"""On a real terminal (a pty): ``show`` and ``stats`` fit 80 and 160 columns, progress bars."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from tests.e2e.cli_support import SOCIEUX, process

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def in_terminal(*args: str, columns: int) -> tuple[int, str, str]:
    """Run ``socieux ARGS`` with stdin, stdout and stderr on a pty ``columns`` wide.

    Returns the exit code, the raw output and the output without escape codes.
    """
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "SOCIEUX_DEBUG", "FORCE_COLOR"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [SOCIEUX, *args], stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    code = proc.wait(timeout=60)
    raw = b"".join(chunks).decode("utf-8", errors="replace")
    return code, raw, ANSI.sub("", raw)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    url = f"sqlite:///{tmp_path_factory.mktemp('tty') / 'socieux.db'}"
    done = process("--db", url, "--json", "demo", "--requests", "8")
    assert done.returncode == 0, done.stderr
    return url, json.loads(done.stdout)


@pytest.mark.parametrize("columns", [80, 160])
def test_show_and_stats_fit_the_terminal(store: tuple[str, dict], columns: int) -> None:
    url, summary = store
    rows = json.loads(process("--db", url, "--json", "list", "--limit", "1000").stdout)
    ongoing = [r for r in rows if not r["final"]]
    for args in (["show", summary["sample_id"][:8]], ["show", ongoing[0]["id"][:8]], ["stats"]):
        code, raw, text = in_terminal("--db", url, *args, columns=columns)
        assert code == 0, text
        assert "Traceback" not in text
        assert "error[" not in text
        assert "\x1b[" in raw  # a terminal gets colours
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= columns
        if args[0] == "show":
            assert lines[0].startswith("╭─ ")
            assert len(lines[0]) == columns  # the panel spans the terminal
            assert "stage timeline" in text
        else:
            assert "by state" in text
            assert "time in stage" in text
            bars = [line for line in lines if "█" in line]
            assert max(len(line.rstrip()) for line in bars) > columns - 10  # bars use the width


def test_long_work_shows_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bar.db'}"
    code, raw, text = in_terminal("--db", url, "demo", "--requests", "8", columns=100)
    assert code == 0
    assert "Loading the demo portfolio" in text
    assert "\x1b[?25l" in raw  # the bar hides the cursor while it runs
    assert "Loaded a demo portfolio" in text
    code, raw, text = in_terminal("--db", url, "projections", "rebuild", columns=100)
    assert code == 0
    assert "Rebuilding projections" in text
    assert "rebuilt requests, audit_trail, portfolio, experts" in text
    piped = process("--db", url, "projections", "rebuild")
    assert piped.returncode == 0
    assert piped.stderr == ""
    assert "\x1b" not in piped.stdout
