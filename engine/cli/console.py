"""The one console helper: JSON or rich output, the one-line error and the exit codes."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TextIO, TypeVar, cast

import typer

from engine.errors import (
    ConcurrencyConflict,
    EngineError,
    GuardRejected,
    InstanceNotFound,
    IntegrityViolation,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownWorkflow,
    WorkflowDefinitionError,
)

if TYPE_CHECKING:
    from rich.console import Console

    from engine.facade import Engine

__all__ = [
    "EXIT_CODES",
    "CliState",
    "OutputError",
    "exit_code_for",
    "fail",
    "handles_errors",
    "printable",
    "progress",
    "state_of",
]

EXIT_CODES = {
    "ok": 0,
    "usage": 2,
    "refused": 3,
    "conflict": 4,
    "not_found": 5,
    "integrity": 6,
}
P = ParamSpec("P")
R = TypeVar("R")


def exit_code_for(exc: EngineError) -> int:
    """The documented exit code for an engine error."""
    if isinstance(exc, TransitionNotAllowed | GuardRejected | PermissionDenied):
        return EXIT_CODES["refused"]
    if isinstance(exc, ConcurrencyConflict):
        return EXIT_CODES["conflict"]
    if isinstance(exc, InstanceNotFound | UnknownWorkflow):
        return EXIT_CODES["not_found"]
    if isinstance(exc, IntegrityViolation):
        return EXIT_CODES["integrity"]
    return EXIT_CODES["usage"]  # invalid input, invalid definition, storage unavailable


@dataclass
class CliState:
    """Global options and the lazily opened engine for one CLI invocation."""

    db: str | None = None
    json: bool = False
    log_format: str = "text"
    _engine: Engine | None = field(default=None, repr=False)
    _console: Console | None = field(default=None, repr=False)

    def engine(self) -> Engine:
        """Open the engine on first use (workflows from installed entry points)."""
        if self._engine is None:
            from engine.facade import Engine

            self._engine = Engine.open(self.db)
        return self._engine

    def close(self) -> None:
        """Close the engine if it was opened."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    @property
    def console(self) -> Console:
        """A rich console on stdout."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=False)
        return self._console

    def out(self, payload: Any, render: Callable[[], None]) -> None:
        """Print ``payload`` as JSON with ``--json``, else call ``render``."""
        if self.json:
            sys.stdout.write(json.dumps(payload, indent=2, default=str, ensure_ascii=False) + "\n")
        else:
            render()


def state_of(ctx: typer.Context) -> CliState:
    """The :class:`CliState` stored on the root context."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):  # pragma: no cover - set by the root callback
        msg = "socieux CLI state is missing"
        raise TypeError(msg)
    return obj


def printable(text: str) -> str:
    """``text`` fit for one line of a terminal: control characters escaped (``\\n``,
    ``\\x00``), bytes that were not UTF-8 in argv (lone surrogates) shown as ``\\xff``."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as os.fsdecode keeps it
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)


def fail(code: str, message: str, exit_code: int) -> typer.Exit:
    """Print the one error line and return the ``typer.Exit`` to raise."""
    sys.stderr.write(f"error[{code}]: {printable(message)}\n")
    return typer.Exit(exit_code)


class OutputError(Exception):
    """Writing an output failed (a full disk, a closed pipe). Not an ``OSError``, so the
    engine never mistakes it for a failure of its own store while it writes to a sink."""

    def __init__(self, name: str, exc: OSError) -> None:
        self.message = f"cannot write {name}: {exc.strerror or exc}"
        super().__init__(self.message)


class _TaggedStdout:
    """``sys.stdout`` while a command runs: its write errors become :class:`OutputError`."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        try:
            return self._inner.write(text)
        except OSError as exc:
            raise OutputError("stdout", exc) from None

    def flush(self) -> None:
        try:
            self._inner.flush()
        except OSError as exc:
            raise OutputError("stdout", exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextmanager
def _tagged_stdout() -> Iterator[None]:
    inner = sys.stdout
    proxy = cast("TextIO", _TaggedStdout(inner))
    sys.stdout = proxy
    try:
        yield
        sys.stdout.flush()  # a full disk often shows only here
    finally:
        if sys.stdout is proxy:
            sys.stdout = inner


def _drop_stdout() -> None:
    """Point stdout at the null device: the interpreter's last flush must not fail again."""
    with suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _engine_error(exc: EngineError) -> typer.Exit:
    """The one line (and an ambiguous prefix's candidates) for an engine error."""
    candidates = exc.details.get("candidates")
    if candidates:  # an ambiguous id prefix: the line, then one candidate per line
        head = exc.message.split(":", 1)[0]
        sys.stderr.write(
            f"error[{exc.code}]: {printable(head)}; {len(candidates)} candidates "
            "(give more characters):\n"
        )
        sys.stderr.write("".join(f"  {c}\n" for c in candidates))
        return typer.Exit(exit_code_for(exc))
    if isinstance(exc, WorkflowDefinitionError):  # a summary line, then one line a problem
        return fail(exc.code, exc.message.splitlines()[0], exit_code_for(exc))
    return fail(exc.code, exc.message, exit_code_for(exc))  # fail() escapes any newline


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn engine errors into one line on stderr and the documented exit code; so too a
    failure to write stdout or an output file (exit 2). Anything else is ``internal``."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        debug = os.environ.get("SOCIEUX_DEBUG") == "1"
        try:
            with _tagged_stdout():
                return func(*args, **kwargs)
        except OutputError as exc:
            _drop_stdout()
            if debug:
                raise
            raise fail("invalid_argument", exc.message, 2) from None
        except EngineError as exc:
            if debug:
                raise
            raise _engine_error(exc) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if debug:
                raise
            message = f"{type(exc).__name__}: {exc} (set SOCIEUX_DEBUG=1 for a traceback)"
            raise fail("internal", message, 1) from None

    return wrapper


def _no_progress(done: int, total: int | None) -> None:
    """Progress reports are dropped when nothing is drawn."""


@contextmanager
def progress(st: CliState, label: str) -> Iterator[Callable[[int, int | None], None]]:
    """Report ``(done, total)`` to a rich progress bar on a terminal (stderr); piped or with
    ``--json`` nothing is drawn, so the output stays plain."""
    if st.json or not sys.stderr.isatty():
        yield _no_progress
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total or None)
