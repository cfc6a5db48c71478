"""The example every command's ``--help`` ends with."""

from __future__ import annotations

__all__ = ["example"]


def example(*lines: str) -> str:
    """An epilog ``Example:`` block; click keeps its lines as they are (``\\b``)."""
    shown = "\n".join(f"  $ {line}" for line in lines)
    return f"\b\nExample{'s' if len(lines) > 1 else ''}:\n{shown}"
