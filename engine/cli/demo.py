"""``socieux demo``: load a realistic portfolio by sending real commands."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.console import handles_errors, state_of

__all__ = ["register"]


@handles_errors
def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same portfolio).")] = 1,
    requests: Annotated[int, typer.Option(help="Number of requests to submit.")] = 64,
) -> None:
    """Load a realistic SOCIEUX+ portfolio through the engine's own commands."""
    from workflows.technical_assistance.demo import run_demo_cli

    st = state_of(ctx)
    run_demo_cli(st, seed=seed, requests=requests)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""
    app.command()(demo)
