"""The worked session in docs/cli.md runs as documented: exit codes and first lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def session(marker: str = "cli-session") -> list[tuple[str, int, list[str]]]:
    """(command, expected exit code, documented output lines) of the marked block."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split(f"<!-- {marker}", 1)[1].split("```console\n", 1)[1].split("\n```", 1)[0]
    steps: list[tuple[str, int, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            code = re.search(r"#\s*exit (\d+)\s*$", line)
            steps.append((line[2:], int(code.group(1)) if code else 0, []))
        else:
            steps[-1][2].append(line)
    return steps


def first_line(lines: list[str]) -> str:
    return next((line.rstrip() for line in lines if line.strip()), "")


def test_the_worked_session_runs_as_documented(tmp_path: Path) -> None:
    steps = session()
    assert [s[0].split()[1] for s in steps if s[0].startswith("socieux")][:6] == [
        "demo",
        "list",
        "list",
        "show",
        "history",
        "next",
    ]
    _runs_as_documented(steps, tmp_path)
    assert (tmp_path / "socieux.db").exists()  # the default store, in the current directory


def test_the_deadlines_session_runs_as_documented(tmp_path: Path) -> None:
    steps = session("cli-deadlines")
    commands = [s[0].split()[1:3] for s in steps]
    assert ["deadlines", "list"] in commands
    assert ["inbox", "--as"] in commands
    _runs_as_documented(steps, tmp_path)


def _runs_as_documented(steps: list[tuple[str, int, list[str]]], tmp_path: Path) -> None:
    env = {
        **os.environ,
        "COLUMNS": "80",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for name in ("SOCIEUX_DB", "SOCIEUX_DEBUG", "NO_COLOR"):
        env.pop(name, None)
    for command, code, documented in steps:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == code, (command, done.stderr)
        actual = (done.stdout + done.stderr).splitlines()
        assert first_line(actual) == first_line(documented), command
