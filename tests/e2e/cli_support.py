"""Shared helpers of the CLI tests: run ``socieux`` in-process (CliRunner) or as a process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import structlog
from typer.testing import CliRunner, Result

from engine.cli.app import build_app

APP = build_app()
SOCIEUX = str(Path(sys.executable).with_name("socieux"))


def run(
    db: str | None,
    *args: str,
    input: str | bytes | None = None,  # noqa: A002 - CliRunner's name
    env: dict[str, str] | None = None,
) -> Result:
    """``socieux [--db DB] ARGS`` in-process; never raises (the exit code is in the result)."""
    argv = ["--db", db, *args] if db else list(args)
    try:
        return CliRunner().invoke(APP, argv, input=input, env={"COLUMNS": "200", **(env or {})})
    finally:
        structlog.reset_defaults()  # the CLI configured logging for its invocation only


def ok(db: str | None, *args: str, input: str | None = None) -> str:  # noqa: A002
    """Run and assert success; the stdout."""
    result = run(db, *args, input=input)
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result.stdout


def as_json(db: str | None, *args: str, input: str | None = None) -> Any:  # noqa: A002
    """``socieux --json ARGS``, parsed."""
    return json.loads(ok(db, "--json", *args, input=input))


def copy_db(src: Path, dest: Path) -> str:
    """Copy a closed SQLite store (and any WAL files); the new store's URL."""
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dest}{suffix}")
    return f"sqlite:///{dest}"


def process(
    *args: str,
    input: str | None = None,  # noqa: A002
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """The installed ``socieux`` console script as a real process."""
    full_env = {**os.environ, "COLUMNS": "120", **(env or {})}
    full_env.pop("SOCIEUX_DEBUG", None)
    return subprocess.run(
        [SOCIEUX, *args],
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def _limits(memory: int | None, file_size: int | None) -> None:
    """In the child, before exec: cap its address space and the size of files it writes
    (a write past the cap fails with EFBIG instead of killing it with SIGXFSZ)."""
    import resource
    import signal

    if memory is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if file_size is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))


def limited(
    *args: str | bytes,
    memory: int | None = None,
    file_size: int | None = None,
    stdin: Any = None,
    stdout: Any = subprocess.PIPE,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``socieux ARGS`` as a process with resource limits (POSIX); ``bytes`` arguments
    reach it as they are, as a non-UTF-8 argv would."""
    full_env = {**os.environ, "COLUMNS": "120"}
    full_env.pop("SOCIEUX_DEBUG", None)
    return subprocess.run(  # preexec_fn: the only way to set the limits before exec
        [SOCIEUX, *args],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
        preexec_fn=lambda: _limits(memory, file_size),
    )
