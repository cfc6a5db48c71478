"""Which evidence recorded in an export each file matches (standard library only).

``python -m engine.audit.offline EXPORT --evidence ID FILE...`` reads the export's
``EvidenceAttached`` events of the instance whose id starts with ``ID``, fingerprints each
file (sha256 and size) and prints, per file, the evidence it matches (version, type,
title) or ``matches no recorded evidence``. The export is verified as well: a match in an
export that does not verify proves nothing, and the exit status says so (6).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .lines import event_record, parse
from .verifier import ExportFormatError, _lines

__all__ = ["FileMatch", "fingerprint", "match_export"]

EVIDENCE_TOPIC = "socieux.instance:EvidenceAttached"


@dataclass(frozen=True, slots=True)
class FileMatch:
    """One file: its fingerprint and the evidence events it matches, by version."""

    file: str
    sha256: str
    size: int
    matches: tuple[tuple[int, str, str], ...]
    """``(version, type, title)`` of each matching ``EvidenceAttached`` event."""


def fingerprint(path: str | Path) -> tuple[str, int]:
    """The sha256 (hex) and byte size of a file (``ExportFormatError`` if unreadable)."""
    digest, size = hashlib.sha256(), 0
    try:
        with Path(path).open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or type(exc).__name__}"
        raise ExportFormatError(msg) from None
    return digest.hexdigest(), size


def _evidence(export: Path, prefix: str) -> tuple[str, list[tuple[int, dict[str, object]]]]:
    found: dict[str, list[tuple[int, dict[str, object]]]] = {}
    ids: set[str] = set()
    for n, text in _lines(export):
        try:
            obj, dupes = parse(text)
        except ValueError:
            continue
        if not isinstance(obj, dict) or obj.get("type") != "event":
            continue
        rec = event_record(obj, n, text, dupes)
        if rec is None or not rec.instance_id.startswith(prefix):
            continue
        ids.add(rec.instance_id)
        ev = (rec.fields or {}).get("evidence")
        if (rec.fields or {}).get("topic") == EVIDENCE_TOPIC and isinstance(ev, dict):
            found.setdefault(rec.instance_id, []).append((rec.version, ev))
    if len(ids) != 1:
        what = "no instance" if not ids else f"{len(ids)} instances"
        msg = f"{what} of the export start with {prefix!r}"
        raise ExportFormatError(msg)
    (iid,) = ids
    return iid, found.get(iid, [])


def match_export(
    export: str | Path, prefix: str, files: Iterable[str | Path]
) -> tuple[str, list[FileMatch]]:
    """The instance ``prefix`` names in ``export``, and each file against its evidence."""
    iid, evidence = _evidence(Path(export), prefix)
    out: list[FileMatch] = []
    for f in files:
        sha, size = fingerprint(f)
        hits = tuple(
            (v, str(e.get("type")), str(e.get("title")))
            for v, e in evidence
            if e.get("sha256") == sha and e.get("size") == size
        )
        out.append(FileMatch(str(f), sha, size, hits))
    return iid, out
