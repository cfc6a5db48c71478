"""Writing files from the CLI: one error line naming the file and the OS reason (exit 2),
and never a partial file that looks complete.

A regular file (or a path that does not exist yet) is written to a temporary file beside
it (``.NAME.XXXXXXXX.tmp``, same directory, so the rename is atomic), flushed, synced and
renamed over the target only once everything was written; on any failure the temporary
file is removed and the target is left as it was. Anything else that exists and is not a
directory (``/dev/full``, ``/dev/stdout``, a FIFO) cannot be renamed onto: it is written
directly, and a failure is reported the same way. A key pair is written into a temporary
directory beside its target and hard-linked into place, so neither key file appears
unless both were written, and an existing file is never replaced.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TextIO, cast

from engine.cli.console import OutputError, printable
from engine.cli.inputs import path_option
from engine.errors import InvalidArgument

__all__ = ["cannot_write", "output_file", "write_key_pair"]


def cannot_write(path: Path | str, exc: OSError) -> InvalidArgument:
    """The one-line error for a file that cannot be written."""
    return InvalidArgument(f"cannot write {printable(str(path))}: {exc.strerror or exc}")


class _Sink:
    """A text sink whose write errors are :class:`OutputError` naming the output."""

    def __init__(self, inner: IO[str], name: str) -> None:
        self._inner = inner
        self.name = name

    def write(self, text: str) -> int:
        try:
            return self._inner.write(text)
        except OSError as exc:
            raise OutputError(self.name, exc) from None

    def flush(self) -> None:
        try:
            self._inner.flush()
        except OSError as exc:
            raise OutputError(self.name, exc) from None


def _existing(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:  # ENOTDIR, ELOOP, EACCES on a parent...
        raise cannot_write(path, exc) from None


@contextmanager
def _direct(path: Path, name: str) -> Iterator[TextIO]:
    """Write straight to a device or FIFO (nothing to rename onto)."""
    try:
        fh = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        sink = _Sink(fh, name)
        yield cast("TextIO", sink)
        sink.flush()
    except OutputError as exc:
        raise InvalidArgument(exc.message) from None
    finally:
        with suppress(OSError):
            fh.close()


def _temporary(target: Path, mode: int | None) -> tuple[Path, int]:
    """Create ``.NAME.XXXXXXXX.tmp`` beside ``target`` (the old file's mode, or the umask's)."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else 0o600)
    if mode is not None:
        with suppress(OSError):
            os.fchmod(fd, mode)
    return tmp, fd


def _sync(fd: int) -> None:
    """Put the bytes on disk before the rename (a file system without fsync is let be)."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


@contextmanager
def _replacing(path: Path, old: os.stat_result | None, name: str) -> Iterator[TextIO]:
    """Write beside ``path`` and rename over it once everything is written."""
    target = Path(os.path.realpath(path))  # through a symlink, as open() would write
    if old is not None and not os.access(target, os.W_OK):
        raise cannot_write(path, PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
    try:
        tmp, fd = _temporary(target, None if old is None else stat.S_IMODE(old.st_mode))
    except OSError as exc:
        raise cannot_write(path, exc) from None
    fh = os.fdopen(fd, "w", encoding="utf-8")
    done = False
    try:
        yield cast("TextIO", _Sink(fh, name))
        fh.flush()
        _sync(fh.fileno())
        fh.close()
        tmp.replace(target)
        done = True
    except OutputError as exc:
        raise InvalidArgument(exc.message) from None
    except OSError as exc:
        raise cannot_write(path, exc) from None
    finally:
        if not done:
            with suppress(OSError):
                fh.close()
            with suppress(OSError):
                tmp.unlink()


def write_bytes(text: str, data: bytes, option: str = "-o") -> None:
    """Write ``data`` to the regular file ``text`` as :func:`output_file` writes text: beside
    it first, renamed over it once complete (a write error is one line, exit 2)."""
    path = path_option(text, option)
    old = _existing(path)
    if old is not None and not stat.S_ISREG(old.st_mode):
        raise InvalidArgument(f"{option}: {printable(text)} is not a regular file")
    target = Path(os.path.realpath(path))
    try:
        tmp, fd = _temporary(target, None if old is None else stat.S_IMODE(old.st_mode))
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            _sync(fh.fileno())
        tmp.replace(target)
    except OSError as exc:
        with suppress(OSError):
            tmp.unlink()
        raise cannot_write(path, exc) from None


@contextmanager
def output_file(text: str | None, option: str = "-o") -> Iterator[TextIO]:
    """The text sink for ``option`` (stdout when ``None``): a write error is one line,
    exit 2, and a regular file appears only once it is complete (see the module)."""
    if text is None:  # an OutputError reaches handles_errors, which also quiets stdout
        sink = _Sink(sys.stdout, "stdout")
        yield cast("TextIO", sink)
        sink.flush()
        return
    path = path_option(text, option)
    old = _existing(path)
    name = printable(text)
    if old is not None and stat.S_ISDIR(old.st_mode):
        raise cannot_write(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
    device = old is not None and not stat.S_ISREG(old.st_mode)
    with _direct(path, name) if device else _replacing(path, old, name) as out:
        yield out


def _place(src: Path, dest: Path) -> None:
    """Move ``src`` to ``dest`` unless ``dest`` exists (a hard link never overwrites)."""
    try:
        os.link(src, dest)
    except FileExistsError:
        raise InvalidArgument(f"{printable(str(dest))} already exists") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(dest):  # no hard links on this file system: check, then rename
            raise InvalidArgument(f"{printable(str(dest))} already exists") from None
        src.rename(dest)


def write_key_pair(text: str, option: str = "PATH") -> str:
    """Create an Ed25519 key pair at ``text`` and ``text.pub``; the public key (hex)."""
    from engine.audit.offline.signing import generate_key

    path = path_option(text, option)
    pub = Path(f"{path}.pub")
    for p in (path, pub):
        if os.path.lexists(p):
            raise InvalidArgument(f"{printable(str(p))} already exists")
    try:
        work = Path(tempfile.mkdtemp(prefix=".socieux-keygen-", dir=path.parent))
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        try:
            public = generate_key(work / "key")
        except ValueError as exc:  # "cannot write key file: REASON" (a fresh directory)
            reason = str(exc).rpartition(": ")[2]
            raise InvalidArgument(f"cannot write {printable(str(path))}: {reason}") from None
        _place(work / "key", path)
        try:
            _place(work / "key.pub", pub)
        except BaseException:
            path.unlink()
            raise
    except OSError as exc:
        raise cannot_write(path, exc) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return public
