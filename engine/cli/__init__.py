"""The ``socieux`` command line. Heavy modules are imported lazily to keep start-up fast.

The outermost part: it may import everything (``workflows`` and ``projections`` included),
nothing imports it, and it calls only public :class:`~engine.Engine` methods.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``socieux`` console script."""
    from engine.cli.app import build_app

    build_app()(prog_name="socieux")
