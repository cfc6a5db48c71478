"""``socieux demo``: load a realistic portfolio by sending real commands.

The portfolio itself (scripts, simulated clock, summary) belongs to a workflow, published
under the ``socieux.demos`` entry-point group (:mod:`engine.cli.demos`); this module only
drives it from the command line: a progress bar on a terminal, plain text when piped,
JSON with ``--json``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.console import handles_errors, printable, progress, state_of
from engine.cli.examples import example
from engine.errors import InvalidArgument

__all__ = ["register"]


@handles_errors
def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same portfolio).")] = 1,
    requests: Annotated[
        int, typer.Option(min=1, max=10_000, help="Number of requests to submit.")
    ] = 64,
    workflow: Annotated[
        str | None,
        typer.Option("--workflow", help="Whose demo, when several are installed."),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the SQLite demo database first.")
    ] = False,
    today: Annotated[
        str | None,
        typer.Option(
            "--today",
            metavar="TIME",
            help="The day the demo's timeline ends (ISO 8601, not in the future; "
            "default: now). Same seed and today, same portfolio.",
        ),
    ] = None,
) -> None:
    """Load a realistic portfolio through the engine's own commands."""
    from engine.cli.demos import load_demo

    st = state_of(ctx)
    end = _today(today)
    if reset:
        remove_sqlite(st.db)
    session = load_demo(workflow).open(st.db)
    try:
        with progress(st, "Loading the demo portfolio") as advance:
            if end is None:
                summary = session.run(seed=seed, requests=requests, progress=advance)
            else:
                summary = session.run(seed=seed, requests=requests, progress=advance, today=end)
    finally:
        session.close()
    st.out(
        summary.model_dump(mode="json"),
        lambda: st.console.print(summary.text(), markup=False, highlight=False),
    )


def _today(text: str | None) -> datetime | None:
    """``--today`` as an aware time (a date: its midnight, UTC), never after now."""
    if text is None:
        return None
    from engine.cli.inputs import parse_time

    at = parse_time(text)
    if at > datetime.now(UTC):
        raise InvalidArgument(f"--today {printable(text)} is in the future")
    return at


def remove_sqlite(url: str | None) -> None:
    """Delete a SQLite store's files (the database, its WAL, shared memory and journal);
    any other URL is refused (exit 2): the demo never drops a server's data."""
    from urllib.parse import urlsplit

    from engine.cli.outputs import cannot_write

    text = url or os.environ.get("SOCIEUX_DB") or "sqlite:///socieux.db"
    parts = urlsplit(text)
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if parts.scheme != "sqlite" or not path:
        scheme = printable(parts.scheme) or "this"
        raise InvalidArgument(f"--reset works on sqlite:///PATH only, not on a {scheme} URL")
    for suffix in ("", "-wal", "-shm", "-journal"):
        target = Path(f"{Path(path).expanduser()}{suffix}")
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            raise cannot_write(target, exc) from None


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""
    app.command(epilog=example("socieux demo --seed 7 --requests 100", "socieux demo --reset"))(
        demo
    )
