"""The one console helper: JSON, CSV or rich output, one table style, one time format, the
one-line error (JSON under ``--json``) and the exit codes."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import typer

from engine.cli.stdout import OutputError, drop_stdout, tagged_stdout
from engine.cli.text import plural, printable, write_csv
from engine.errors import (
    ConcurrencyConflict,
    EngineError,
    ErasureConflict,
    GuardRejected,
    InstanceNotFound,
    IntegrityViolation,
    MigrationBlocked,
    PermissionDenied,
    SubjectNotFound,
    TransitionNotAllowed,
    UnknownWorkflow,
    WorkflowDefinitionError,
)

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console
    from rich.table import Table

    from engine.facade import Engine

__all__ = [
    "ARROW",
    "BOUNDLESS",
    "EXIT_CODES",
    "CliState",
    "OutputError",
    "OutputFormat",
    "bounded",
    "exit_code_for",
    "fail",
    "handles_errors",
    "json_errors",
    "plural",
    "printable",
    "progress",
    "state_of",
    "table",
    "when",
]

EXIT_CODES = {
    "ok": 0,
    "usage": 2,
    "refused": 3,
    "conflict": 4,
    "not_found": 5,
    "integrity": 6,
}
BOUNDLESS = 100_000
"""The console width when stdout is not a terminal and ``COLUMNS`` is unset: no limit."""
ARROW = "->"
"""The one arrow between a source and a destination state."""
json_errors: ContextVar[bool] = ContextVar("socieux_json_errors", default=False)
"""Whether this invocation asked for ``--json`` (errors are then JSON too)."""
P = ParamSpec("P")
R = TypeVar("R")


class OutputFormat(StrEnum):
    """``--format`` of ``list``, ``stats`` and ``audit trail``."""

    table = "table"
    json = "json"
    csv = "csv"


def exit_code_for(exc: EngineError) -> int:
    """The documented exit code for an engine error."""
    if isinstance(exc, TransitionNotAllowed | GuardRejected | PermissionDenied | MigrationBlocked):
        return EXIT_CODES["refused"]
    if isinstance(exc, ConcurrencyConflict | ErasureConflict):
        return EXIT_CODES["conflict"]
    if isinstance(exc, InstanceNotFound | UnknownWorkflow | SubjectNotFound):
        return EXIT_CODES["not_found"]
    if isinstance(exc, IntegrityViolation):
        return EXIT_CODES["integrity"]
    return EXIT_CODES["usage"]  # invalid input, invalid definition, storage unavailable


class _Unpadded:
    """stdout for a console that is not a terminal: no trailing spaces on any line."""

    def write(self, text: str) -> int:
        return sys.stdout.write(re.sub(r" +\n", "\n", text))

    def flush(self) -> None:
        sys.stdout.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.stdout, name)


@dataclass
class CliState:
    """Global options and the lazily opened engine for one CLI invocation."""

    db: str | None = None
    json: bool = False
    log_format: str = "text"
    replicas: list[str] = field(default_factory=list)
    """``--replica`` URLs: reads go to these streaming replicas of ``db``."""
    _engine: Engine | None = field(default=None, repr=False)
    _console: Console | None = field(default=None, repr=False)

    def engine(self) -> Engine:
        """Open the engine on first use (workflows from installed entry points)."""
        if self._engine is None:
            from engine.facade import Engine

            self._engine = Engine.open(self.db, replicas=self.replicas or None)
        return self._engine

    @contextmanager
    def log_engine(self) -> Iterator[Engine]:
        """An engine on the log alone (no read models to open or catch up), closed after:
        what the audit and proof commands read."""
        from engine.facade import Engine

        engine = Engine.open(self.db, projections=[], replicas=self.replicas or None)
        try:
            yield engine
        finally:
            engine.close()

    def close(self) -> None:
        """Close the engine if it was opened."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    @property
    def console(self) -> Console:
        """A rich console on stdout; piped, it never wraps, pads or limits the width."""
        if self._console is None:
            from rich.console import Console

            if sys.stdout.isatty():
                self._console = Console(highlight=False, soft_wrap=False)
            else:
                width = None if os.environ.get("COLUMNS", "").isdigit() else BOUNDLESS
                self._console = Console(
                    file=cast("IO[str]", _Unpadded()), highlight=False, soft_wrap=True, width=width
                )
        return self._console

    def out(
        self,
        payload: Any,
        render: Callable[[], None],
        fmt: OutputFormat | None = None,
        rows: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        """Print ``payload`` as JSON (``--json`` or ``fmt`` json), as CSV (``fmt`` csv: the
        ``rows``, else the payload's items), else call ``render``."""
        chosen = fmt or (OutputFormat.json if self.json else OutputFormat.table)
        if chosen is OutputFormat.json:
            sys.stdout.write(json.dumps(payload, indent=2, default=str, ensure_ascii=False) + "\n")
        elif chosen is OutputFormat.csv:
            write_csv(rows() if rows is not None else payload)
        else:
            render()


def bounded(console: Console) -> bool:
    """Whether the console has a real width (a terminal, or ``COLUMNS``)."""
    return console.width < BOUNDLESS


def table(*columns: str, **options: Any) -> Table:
    """A table in the CLI's one style (a rule under the header, no borders)."""
    from rich import box
    from rich.table import Table

    return Table(*columns, box=box.SIMPLE_HEAD, **options)


def when(at: datetime) -> str:
    """The CLI's one time format: ISO 8601 to the second, with its offset (UTC if none)."""
    from datetime import UTC

    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat(timespec="seconds")


def state_of(ctx: typer.Context) -> CliState:
    """The :class:`CliState` stored on the root context."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):  # pragma: no cover - set by the root callback
        msg = "socieux CLI state is missing"
        raise TypeError(msg)
    return obj


def write_error(code: str, message: str, *, as_json: bool, **details: Any) -> None:
    """The one error line on stderr: ``error[CODE]: message``, or with ``as_json``
    ``{"error": {"code": ..., "message": ...}}`` (plus ``details``)."""
    if as_json:
        body = {"code": code, "message": printable(message), **details}
        sys.stderr.write(json.dumps({"error": body}, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"error[{code}]: {printable(message)}\n")


def fail(code: str, message: str, exit_code: int) -> typer.Exit:
    """Print the one error line and return the ``typer.Exit`` to raise."""
    write_error(code, message, as_json=json_errors.get())
    return typer.Exit(exit_code)


def _engine_error(exc: EngineError) -> typer.Exit:
    """The one line (and an ambiguous prefix's candidates) for an engine error."""
    candidates = exc.details.get("candidates")
    if candidates:  # an ambiguous id prefix: the line, then one candidate per line
        head = exc.message.split(":", 1)[0]
        if json_errors.get():
            write_error(exc.code, head, as_json=True, candidates=list(candidates))
            return typer.Exit(exit_code_for(exc))
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
    failure to write stdout or an output file (exit 2), but a closed pipe ends quietly
    (exit 0). Anything else is ``internal``."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        debug = os.environ.get("SOCIEUX_DEBUG") == "1"
        try:
            with tagged_stdout():
                return func(*args, **kwargs)
        except OutputError as exc:
            drop_stdout()
            if exc.closed_pipe:
                raise typer.Exit(0) from None
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
