"""Check a proof bundle of one request: no database, no export (standard library only).

A bundle (``socieux audit prove``) holds one request's events as they were hashed, the
definitions they pin, each event's inclusion proof and the tree head those proofs lead
to. It verifies when: the head is well-formed (and, given a public key, signed by it);
each event's content hashes to its stored hash (:func:`.canonical.event_digest`), and
that hash, as a leaf, is proved in the head's tree at the leaf index it claims; the
events all belong to the request, sit in log order, and form its unbroken chain from
version 1 (:func:`.chain.analyse_instance`); and the steps keep the workflow rules of the
definitions pinned (:mod:`.semantic`). A file that is not a bundle raises
:class:`BundleFormatError`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chain import Problem, Record, analyse_instance
from .lines import definition_of, is_hex64, is_int, parse
from .merkle import leaf_hash, verify_inclusion
from .semantic import RuleChecker
from .tree_head import TreeHeadRecord, check_head

__all__ = ["BUNDLE_SCHEMA", "MAX_BUNDLE", "BundleFormatError", "BundleReport", "verify_bundle"]

BUNDLE_SCHEMA = "socieux.proof-bundle/1"
MAX_BUNDLE = 64 * 1024 * 1024
"""The largest bundle file read (64 MiB; one request's bundle is a few KB)."""
MAX_PROOF = 64
"""The longest inclusion proof accepted (a tree of 2**64 leaves needs 64 hashes)."""
MessageCheck = Callable[[bytes, "str | None", "str | None"], "str | None"]


class BundleFormatError(ValueError):
    """The file is not a proof bundle this verifier understands."""


@dataclass
class BundleReport:
    """What was checked in a bundle, and every problem found."""

    path: str
    instance: str = ""
    head: TreeHeadRecord | None = None
    events: int = 0
    definitions: int = 0
    signatures: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems


def _bad(why: str) -> BundleFormatError:
    return BundleFormatError(f"not a proof bundle: {why}")


GZIP_MAGIC = b"\x1f\x8b"
"""A bundle written to a ``.gz`` file is gzip-compressed JSON (RFC 1952)."""


def _gunzip(data: bytes, path: Path) -> bytes:
    """The JSON text of a gzip-compressed bundle, at most ``MAX_BUNDLE`` bytes of it."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        text = inflate.decompress(data, MAX_BUNDLE + 1)
    except zlib.error:
        raise _bad(f"{path} is not a readable gzip file") from None
    if len(text) > MAX_BUNDLE:
        raise _bad(f"{path} holds more than {MAX_BUNDLE} bytes of JSON")
    if not inflate.eof or inflate.unused_data:
        raise _bad(f"{path} is a truncated or padded gzip file")
    return text


def _load(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BUNDLE + 1)
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise BundleFormatError(msg) from None
    if len(data) > MAX_BUNDLE:
        raise _bad(f"{path} is larger than {MAX_BUNDLE} bytes")
    if data[:2] == GZIP_MAGIC:
        data = _gunzip(data, path)
    try:
        obj, duplicates = parse(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad(f"{path} is not UTF-8 JSON") from None
    if duplicates:
        raise _bad(f"it repeats the key(s) {', '.join(sorted(set(duplicates)))}")
    if not isinstance(obj, dict) or obj.get("schema") != BUNDLE_SCHEMA:
        raise _bad(f"its schema is not {BUNDLE_SCHEMA!r}")
    return obj


def _head(obj: Any) -> TreeHeadRecord:
    if not isinstance(obj, dict):
        raise _bad("it has no head")
    size, root, at, sig = (obj.get(k) for k in ("size", "root", "at", "signature"))
    why = check_head(size, root, at, sig)
    key, seq = obj.get("public_key"), obj.get("seq")
    if why is None and not (key is None or is_hex64(key)):
        why = "its public key is not 64 hex characters"
    if why is not None or not isinstance(size, int) or not isinstance(root, str):
        raise _bad(f"its head: {why}")
    return TreeHeadRecord(
        size, root, str(at), sig, key, seq if is_int(seq) else None
    )  # checked above


@dataclass(frozen=True, slots=True)
class _Entry:
    record: Record
    index: int
    proof: list[bytes]


def _record(obj: dict[str, Any], event: dict[str, Any], where: str) -> Record:
    """The record of a bundled event (an unreadable row keeps only its digest)."""
    iid, version = event.get("originator_id"), event.get("originator_version")
    stored, position = obj.get("hash"), obj.get("position")
    if not isinstance(iid, str) or not is_int(position) or not isinstance(version, int):
        raise _bad(f"{where} lacks its instance, version or log position")
    if isinstance(version, bool):
        raise _bad(f"{where}: its version is not a number")
    if stored is None and is_hex64(obj.get("digest")):
        why = str(obj.get("unreadable") or "unreadable")
        return Record(iid, version, None, None, position=position, error=why, raw=obj["digest"])
    if not is_hex64(stored):
        raise _bad(f"{where} has no sha256 hash")
    fields = {key: v for key, v in event.items() if key != "originator_version"}
    return Record(iid, version, fields, stored, position=position)


def _entry(obj: Any, k: int) -> _Entry:
    where = f"event {k + 1}"
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), dict):
        raise _bad(f"{where} is not an object with an event")
    rec = _record(obj, obj["event"], where)
    index, proof = obj.get("index"), obj.get("proof")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise _bad(f"{where} has no leaf index")
    if not isinstance(proof, list) or len(proof) > MAX_PROOF or not all(map(is_hex64, proof)):
        raise _bad(f"{where}: its proof is not a list of at most {MAX_PROOF} sha256 hashes")
    return _Entry(rec, index, [bytes.fromhex(p) for p in proof])


def _include(e: _Entry, head: TreeHeadRecord, problems: list[Problem]) -> None:
    rec = e.record
    leaf = leaf_hash(bytes.fromhex(rec.stored_hash or rec.digest))
    if not verify_inclusion(e.index, head.size, leaf, e.proof, bytes.fromhex(head.root)):
        problems.append(rec.problem(
            "altered",
            f"not in the log under {head.label}: its inclusion proof (leaf {e.index} of "
            f"{head.size}) does not lead to the head's root",
        ))  # fmt: skip


def _order(entries: list[_Entry], iid: str, problems: list[Problem]) -> None:
    last = -1
    for e in entries:
        if e.record.instance_id != iid:
            problems.append(e.record.problem("inserted", f"an event of another request, not {iid}"))
        if e.index <= last:
            problems.append(e.record.problem("reordered", f"leaf {e.index} comes after {last}"))
        last = max(last, e.index)


def _definitions(items: Any, problems: list[Problem]) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        raise _bad("its definitions are not a list")
    found: dict[str, dict[str, Any]] = {}
    for n, item in enumerate(items, 1):
        got = definition_of(item) if isinstance(item, dict) else "not an object"
        if isinstance(got, str):
            problems.append(Problem("altered", None, None, f"definition {n}: {got}"))
        else:
            found.setdefault(*got)
    return found


def verify_bundle(path: str | Path, *, signature: MessageCheck | None = None) -> BundleReport:
    """Check a proof bundle; ``BundleFormatError`` if the file is not one."""
    obj = _load(Path(path))
    head, iid, events = _head(obj.get("head")), obj.get("instance"), obj.get("events")
    if not isinstance(iid, str) or not isinstance(events, list) or not events:
        raise _bad("it names no request, or holds no events")
    report = BundleReport(path=str(path), instance=iid, head=head)
    defs = _definitions(obj.get("definitions", []), report.problems)
    entries = [_entry(e, k) for k, e in enumerate(events)]
    if signature is not None:
        report.signatures = 1
        why = signature(head.message(), head.signature, head.public_key)
        if why:
            report.problems.append(Problem("head", None, None, f"{head.label}: {why}"))
    for e in entries:
        _include(e, head, report.problems)
    _order(entries, iid, report.problems)
    records = [e.record for e in entries if e.record.instance_id == iid]
    report.problems += analyse_instance(iid, records)
    unknown = "the bundle holds no intact definition with this hash"
    report.problems += RuleChecker(defs.get, unknown=unknown).judge(records)
    report.events, report.definitions = len(entries), len(defs)
    return report
