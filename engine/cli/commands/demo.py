"""``socieux demo``: load a realistic portfolio by sending real commands.

The portfolio itself (scripts, simulated clock, summary) belongs to a workflow, published
under the ``socieux.demos`` entry-point group (:mod:`engine.cli.demos`); this module only
drives it from the command line: a progress bar on a terminal, plain text when piped,
JSON with ``--json``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.console import handles_errors, progress, state_of

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
) -> None:
    """Load a realistic portfolio through the engine's own commands."""
    from engine.cli.demos import load_demo

    st = state_of(ctx)
    session = load_demo(workflow).open(st.db)
    try:
        with progress(st, "Loading the demo portfolio") as advance:
            summary = session.run(seed=seed, requests=requests, progress=advance)
    finally:
        session.close()
    st.out(
        summary.model_dump(mode="json"),
        lambda: st.console.print(summary.text(), markup=False, highlight=False),
    )


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""
    app.command()(demo)
