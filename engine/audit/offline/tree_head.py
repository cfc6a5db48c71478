"""Signed tree heads and their one-line witness form (standard library only).

A tree head states that the Merkle tree (:mod:`.merkle`) over the first ``size`` events of
the log has root ``root``, at time ``at``. What a signature signs is the UTF-8 text::

    socieux.tree-head/1
    <size>
    <root, 64 lowercase hex>
    <at, ISO 8601 UTC>

each line ending in a newline, so any language can rebuild it. The witness form is one
line of four fields separated by single spaces: ``size root at signature`` (signature as
128 hex characters, or ``-`` for an unsigned head); ``#`` starts a comment line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "HEAD_SCHEMA",
    "MAX_WITNESS_FILE",
    "TreeHeadRecord",
    "check_head",
    "head_message",
    "parse_witness",
]

HEAD_SCHEMA = "socieux.tree-head/1"
MAX_WITNESS_FILE = 4 * 1024 * 1024
"""The largest witness file read (4 MiB)."""
_HEX = frozenset("0123456789abcdef")


def head_message(size: int, root: str, at: str) -> bytes:
    """The bytes a tree head's Ed25519 signature signs."""
    return f"{HEAD_SCHEMA}\n{size}\n{root}\n{at}\n".encode()


def _hex(text: str, length: int) -> bool:
    return len(text) == length and _HEX.issuperset(text)


@dataclass(frozen=True, slots=True)
class TreeHeadRecord:
    """A tree head as stored, bundled or witnessed (``seq``: its number in the store, when
    known; ``line``: its line in a witness file)."""

    size: int
    root: str
    at: str
    signature: str | None = None
    public_key: str | None = None
    seq: int | None = None
    line: int | None = None

    def message(self) -> bytes:
        """What its signature signs."""
        return head_message(self.size, self.root, self.at)

    def as_dict(self) -> dict[str, object]:
        """Its fields as a bundle carries them."""
        return {
            "seq": self.seq, "size": self.size, "root": self.root, "at": self.at,
            "public_key": self.public_key, "signature": self.signature,
        }  # fmt: skip

    def witness_line(self) -> str:
        """Its one-line witness form (no newline)."""
        return f"{self.size} {self.root} {self.at} {self.signature or '-'}"

    @property
    def label(self) -> str:
        """How problems name it."""
        if self.seq is not None:
            return f"tree head #{self.seq}"
        return f"witnessed head (line {self.line})" if self.line else "tree head"


def _time_problem(at: object) -> str | None:
    if not isinstance(at, str):
        return "its time is not text"
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return f"its time {at[:40]!r} is not an ISO 8601 time"
    return "its time has no timezone" if moment.tzinfo is None else None


def check_head(size: object, root: object, at: object, signature: object) -> str | None:
    """Why these fields are not a well-formed head, or ``None``."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "its size is not a whole number"
    if not isinstance(root, str) or not _hex(root, 64):
        return "its root is not 64 lowercase hex characters"
    if signature is not None and (not isinstance(signature, str) or not _hex(signature, 128)):
        return "its signature is not 128 hex characters"
    return _time_problem(at)


def parse_witness(text: str) -> list[TreeHeadRecord]:
    """The heads of a witness file; ``ValueError`` naming the first malformed line."""
    heads: list[TreeHeadRecord] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(" ")
        if len(parts) != 4:
            msg = f"line {n}: expected 'size root time signature', got {len(parts)} field(s)"
            raise ValueError(msg)
        size_text, root, at, sig = parts
        size = int(size_text) if size_text.isdigit() and len(size_text) < 20 else -1
        signature = None if sig == "-" else sig
        why = check_head(size, root, at, signature)
        if why:
            msg = f"line {n}: not a tree head: {why}"
            raise ValueError(msg)
        heads.append(TreeHeadRecord(size, root, at, signature, line=n))
    return heads
