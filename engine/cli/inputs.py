"""Parsing CLI inputs: ``--as ROLE:ACTOR``, times, and every file the CLI reads.

Every file goes through :func:`path_option` (no empty path, no NUL, encodable) and is read
with a cap: ``--data`` (a file or ``-`` for stdin) up to :data:`DATA_LIMIT`, key files up to
:data:`KEY_LIMIT`, and only regular ones. An export (``audit verify --file``) has no size
cap, since the offline verifier reads it line by line, but it must be a regular file.
Problems are ``InvalidArgument`` (exit 2, one line).
"""

from __future__ import annotations

import codecs
import json
import os
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from engine.cli.console import printable
from engine.errors import InvalidArgument

if TYPE_CHECKING:
    from engine.instance.views import Actor

__all__ = [
    "DATA_LIMIT",
    "KEY_LIMIT",
    "export_file",
    "key_file",
    "parse_actor",
    "parse_time",
    "path_option",
    "read_data",
]

DATA_LIMIT = 1 << 20
"""The most bytes ``--data`` reads (a JSON payload: 1 MiB)."""
KEY_LIMIT = 64 << 10
"""The largest key file (``--key``, ``--public-key``: 64 KiB; a PEM key is ~120 bytes)."""

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def parse_actor(text: str) -> Actor:
    """``ROLE:ACTOR`` to an :class:`Actor` (``InvalidArgument`` if malformed)."""
    from engine.instance.views import Actor

    try:
        return Actor.parse(text)
    except ValueError as exc:
        raise InvalidArgument(f"--as: {exc}") from None


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; a naive time is taken as UTC."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"not an ISO 8601 time: {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _size_text(limit: int) -> str:
    """``1 MiB``, ``64 KiB`` or ``N bytes``."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def path_option(text: str, option: str) -> Path:
    """The path given to ``option``: not empty, no NUL, and encodable for the file system."""
    if not text:
        raise InvalidArgument(f"{option}: the path is empty")
    if "\x00" in text:
        raise InvalidArgument(f"{option}: the path {printable(text)} contains a NUL character")
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        raise InvalidArgument(
            f"{option}: the path {printable(text)} cannot be encoded for the file system"
        ) from None
    return Path(text)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _stat(path: Path, what: str) -> os.stat_result:
    try:
        return path.stat()
    except OSError as exc:
        raise InvalidArgument(f"cannot read {what}{printable(str(path))}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _regular(path: Path, what: str) -> os.stat_result:
    st = _stat(path, what)
    if not stat.S_ISREG(st.st_mode):
        raise InvalidArgument(
            f"{what}{printable(str(path))} is not a regular file ({_kind(st.st_mode)})"
        )
    return st


def export_file(text: str, option: str = "--file") -> Path:
    """An export to verify: an existing regular file (its size is not capped)."""
    path = path_option(text, option)
    _regular(path, "")
    return path


def key_file(text: str, option: str) -> Path:
    """A key file: an existing regular file of at most :data:`KEY_LIMIT` bytes."""
    path = path_option(text, option)
    if _regular(path, "key file ").st_size > KEY_LIMIT:
        raise InvalidArgument(
            f"key file {printable(str(path))} is larger than {_size_text(KEY_LIMIT)} "
            f"(the limit for {option})"
        )
    return path


def _read_capped(fh: BinaryIO, limit: int, where: str) -> bytes:
    raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise InvalidArgument(f"{where} is larger than {_size_text(limit)} (the --data limit)")
    return raw


def _read_source(source: str) -> tuple[bytes, str]:
    """The bytes of ``--data`` (a file, or ``-`` for stdin) and how to name them."""
    if source == "-":
        stdin: Any = sys.stdin
        return _read_capped(getattr(stdin, "buffer", stdin), DATA_LIMIT, "stdin"), "stdin"
    path = path_option(source, "--data")
    where = printable(source)
    try:
        with path.open("rb") as fh:  # FIFOs work too (--data <(...)); the read is capped
            return _read_capped(fh, DATA_LIMIT, where), where
    except OSError as exc:
        raise InvalidArgument(f"cannot read {where}: {_reason(exc)}") from None


def _decode(raw: bytes | str, where: str) -> str:
    if isinstance(raw, str):  # a text-only stdin (no .buffer)
        raw = raw.encode("utf-8", "surrogateescape")
    if raw.startswith(codecs.BOM_UTF8):
        raise InvalidArgument(f"{where} starts with a UTF-8 byte order mark: save it without one")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # a binary file, or another encoding than UTF-8
        raise InvalidArgument(
            f"{where} is not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None


def _parse_int(text: str) -> int:
    digits = sys.get_int_max_str_digits()
    if digits and len(text.lstrip("-")) > digits:
        raise InvalidArgument(f"a JSON number has more than {digits} digits")
    return int(text)


def read_data(source: str | None) -> dict[str, Any]:
    """Read a JSON object from a file path or ``-`` (stdin); nothing gives ``{}``."""
    if source is None:
        return {}
    raw, where = _read_source(source)
    text = _decode(raw, where)
    try:
        data = json.loads(text, parse_int=_parse_int)
    except InvalidArgument as exc:
        raise InvalidArgument(f"invalid JSON in {where}: {exc.message}") from None
    except RecursionError:
        raise InvalidArgument(f"invalid JSON in {where}: nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise InvalidArgument(f"invalid JSON in {where}: {printable(str(exc))}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"{where} must hold a JSON object, not {type(data).__name__}")
    return data
