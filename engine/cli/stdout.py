"""Guarding stdout while a command runs: write errors become :class:`OutputError`.

A closed pipe (``socieux list | head -1``) is not an error: the command stops quietly with
exit 0, like git. Any other write error (``> /dev/full``) is one line and exit 2.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, TextIO, cast

__all__ = ["OutputError", "drop_stdout", "tagged_stdout"]


class OutputError(Exception):
    """Writing an output failed (a full disk, a closed pipe). Not an ``OSError``, so the
    engine never mistakes it for a failure of its own store while it writes to a sink."""

    def __init__(self, name: str, exc: OSError) -> None:
        self.message = f"cannot write {name}: {exc.strerror or exc}"
        self.closed_pipe = name == "stdout" and exc.errno == errno.EPIPE
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
def tagged_stdout() -> Iterator[None]:
    """Swap ``sys.stdout`` for the tagging proxy; flush it at the end (a full disk often
    shows only there)."""
    inner = sys.stdout
    proxy = cast("TextIO", _TaggedStdout(inner))
    sys.stdout = proxy
    try:
        yield
        sys.stdout.flush()
    finally:
        if sys.stdout is proxy:
            sys.stdout = inner


def drop_stdout() -> None:
    """Point stdout at the null device: the interpreter's last flush must not fail again."""
    with suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
