"""The ``socieux`` command line. Heavy modules are imported lazily to keep start-up fast.

The outermost part: it may import everything (``workflows`` and ``projections`` included),
nothing imports it, and it calls only public :class:`~engine.Engine` methods.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``socieux`` console script."""
    import sys

    from engine.cli.app import build_app
    from engine.cli.stdout import drop_stdout

    try:
        build_app()(prog_name="socieux")
    except BrokenPipeError:  # outside a command (help, usage): a closed pipe is quiet too
        drop_stdout()
        sys.exit(0)
    except SystemExit as exc:
        from typer._click.utils import PacifyFlushWrapper  # typer vendors click

        if exc.code == 1 and isinstance(sys.stdout, PacifyFlushWrapper):  # its EPIPE exit
            drop_stdout()
            sys.exit(0)
        raise
