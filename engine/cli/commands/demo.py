"""``socieux demo``: load a realistic portfolio by sending real commands.

The portfolio itself (scripts, simulated clock, summary) lives in
``workflows.technical_assistance.demo``; this module only drives it from the command line:
a progress bar on a terminal, plain text when piped, JSON with ``--json``.
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
) -> None:
    """Load a realistic SOCIEUX+ portfolio through the engine's own commands."""
    from workflows.technical_assistance.demo import open_demo_engine, run_demo

    st = state_of(ctx)
    engine, clock = open_demo_engine(st.db)
    try:
        with progress(st, "Loading the demo portfolio") as advance:
            summary = run_demo(engine, seed=seed, requests=requests, clock=clock, progress=advance)
    finally:
        engine.close()
    st.out(
        summary.model_dump(mode="json"),
        lambda: st.console.print(summary.text(), markup=False, highlight=False),
    )


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""
    app.command()(demo)
