"""Verify an audit export offline: no database, no engine configuration.

This module and the ones it imports (``canonical``, ``chain`` and ``checker``, all in this
folder, by relative import) use only the standard library; ``cryptography`` is imported
(through ``signing``) only when a public key is given. An auditor can run::

    python -m engine.audit.offline export.jsonl [--public-key seal-key.pub]

or copy this folder anywhere (say as ``offline/``) and run ``python -m offline export.jsonl``.

It exits 0 when everything verifies, 6 when something does not, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chain import Problem, Record, raw_digest
from .checker import ChainChecker, Head, Scope, SealRecord, SignatureCheck

__all__ = ["EXPORT_SCHEMA", "ExportFormatError", "OfflineReport", "main", "verify_file"]

EXPORT_SCHEMA = "socieux.audit-export/1"
_SEAL_INTS = ("seq", "position", "events", "heads_count")
_SEAL_STRS = ("running_hash", "sealed_at", "heads_hash", "previous", "seal_hash")
_SEAL_OPTIONAL = ("public_key", "signature")


class ExportFormatError(ValueError):
    """The file is not a socieux audit export this verifier understands."""


@dataclass
class OfflineReport:
    """What was checked in an export file, and every problem found."""

    path: str
    scope: str
    events: int = 0
    instances: int = 0
    seals: int = 0
    signatures: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as fh:
            yield from enumerate(fh, start=1)
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise ExportFormatError(msg) from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_hex64(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)


def _record(obj: dict[str, Any], n: int, text: str) -> Record | None:
    event, position = obj.get("event"), obj.get("position")
    if not isinstance(event, dict) or not _is_int(position):
        return None
    iid, version = event.get("originator_id"), event.get("originator_version")
    if not isinstance(iid, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    stored_hash = obj.get("hash")
    well_formed = all(isinstance(event.get(k), str) for k in ("topic", "timestamp")) and isinstance(
        stored_hash, str
    )
    if not well_formed:
        why = str(obj.get("unreadable") or "the event line lacks its topic, time or hash")
        digest = obj.get("digest")
        raw = digest if _is_hex64(digest) else raw_digest(text)
        return Record(iid, version, None, None, position=position, line=n, error=why, raw=raw)
    fields = {k: v for k, v in event.items() if k != "originator_version"}
    return Record(iid, version, fields, stored_hash, position=position, line=n)


def _seal(obj: dict[str, Any], n: int) -> tuple[SealRecord, list[Head]] | None:
    typed = (
        all(_is_int(obj.get(k)) for k in _SEAL_INTS)
        and all(isinstance(obj.get(k), str) for k in _SEAL_STRS)
        and all(obj.get(k) is None or isinstance(obj.get(k), str) for k in _SEAL_OPTIONAL)
    )
    heads = obj.get("heads")
    if not typed or not isinstance(heads, list):
        return None
    try:
        parsed = [(str(i), int(v), str(h)) for i, v, h in heads]
    except (TypeError, ValueError):
        return None
    fields = {k: obj[k] for k in (*_SEAL_INTS, *_SEAL_STRS)}
    return SealRecord(
        **fields, public_key=obj.get("public_key"), signature=obj.get("signature"), line=n
    ), parsed


def _scope(header: Any) -> tuple[Scope, str]:
    if not isinstance(header, dict) or header.get("type") != "header":
        msg = "line 1 is not a socieux audit export header"
        raise ExportFormatError(msg)
    if header.get("schema") != EXPORT_SCHEMA:
        msg = (
            f"unsupported export schema {header.get('schema')!r} (this verifier reads "
            f"{EXPORT_SCHEMA})"
        )
        raise ExportFormatError(msg)
    scope = header.get("scope") or {}
    if not isinstance(scope, dict) or set(scope) - {"instance", "since"}:
        msg = "the header's scope is not {instance, since}"
        raise ExportFormatError(msg)
    if scope.get("instance"):
        return Scope(instance=str(scope["instance"])), f"instance {scope['instance']}"
    if scope.get("since"):
        return Scope(anchored=True), f"the log from {scope['since']} on"
    return Scope(), "the whole log"


@dataclass
class _Pass:
    checker: ChainChecker
    report: OfflineReport
    end: dict[str, Any] | None = None
    end_line: int = 0
    last_line: int = 0

    def bad(self, n: int, kind: str, detail: str) -> None:
        self.report.problems.append(Problem(kind, None, None, f"line {n}: {detail}", line=n))

    def line(self, n: int, text: str) -> None:
        if not text.strip():
            return  # a blank line (a trailing newline too many) carries nothing
        self.last_line = n
        if self.end is not None:
            self.bad(n, "inserted", "a line after the end line")
            return
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            self.bad(n, "altered", "not valid JSON")
            return
        kind = obj.get("type") if isinstance(obj, dict) else None
        self._dispatch(n, kind, obj, text)

    def _dispatch(self, n: int, kind: Any, obj: Any, text: str) -> None:
        if kind == "event":
            rec = _record(obj, n, text)
            if rec is None:
                self.bad(n, "altered", "not a well-formed event line")
            else:
                self.checker.add(rec)
        elif kind == "seal":
            parsed = _seal(obj, n)
            if parsed is None:
                self.bad(n, "altered", "not a well-formed seal line")
            else:
                self.checker.close_seal(*parsed)
        elif (
            kind == "anchor"
            and self.checker.scope.anchored
            and self.checker.running is None
            and _is_int(obj.get("position"))
            and _is_int(obj.get("events"))
            and _is_hex64(obj.get("running_hash"))
        ):
            self.checker.anchor(
                position=obj["position"], running_hash=obj["running_hash"], events=obj["events"]
            )
        elif kind == "end":
            self.end, self.end_line = obj, n
        else:
            self.bad(n, "altered", f"unexpected line type {kind!r}")


def _check_end(p: _Pass, events: int, seals: int) -> None:
    if p.end is None:
        p.bad(p.last_line + 1, "missing", "the file has no end line: it was cut short")
    elif (p.end.get("events"), p.end.get("seals"), p.end.get("lines")) != (
        events,
        seals,
        p.end_line,
    ):
        p.bad(
            p.end_line,
            "missing",
            f"the end line counts {p.end.get('events')} events, "
            f"{p.end.get('seals')} seals and {p.end.get('lines')} "
            f"lines; the file has {events}, {seals} and {p.end_line}",
        )


def _second_pass(path: Path, suspects: set[str]) -> dict[str, list[Record]]:
    found: dict[str, list[Record]] = {s: [] for s in suspects}
    for n, text in _lines(path):
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict) and obj.get("type") == "event":
            rec = _record(obj, n, text)
            if rec is not None and rec.instance_id in found:
                found[rec.instance_id].append(rec)
    return found


def verify_file(
    path: str | Path, *, signature_check: SignatureCheck | None = None
) -> OfflineReport:
    """Verify an export file; ``ExportFormatError`` if it is not one."""
    path = Path(path)
    lines = _lines(path)
    first = next(lines, None)
    try:
        header = json.loads(first[1]) if first else None
    except ValueError:
        header = None
    scope, described = _scope(header)
    report = OfflineReport(path=str(path), scope=described)
    p = _Pass(ChainChecker(scope=scope, signature_check=signature_check), report, last_line=1)
    for n, text in lines:
        p.line(n, text)
    result = p.checker.finish()
    _check_end(p, result.events, result.seals)
    report.problems[:0] = result.problems
    for iid, records in _second_pass(path, set(result.suspects)).items():
        report.problems += result.judge(iid, records, anchored=scope.anchored)
    report.events, report.instances = result.events, result.instances
    report.seals, report.signatures = result.seals, result.signatures
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m engine.audit.offline FILE [--public-key K]``."""
    parser = argparse.ArgumentParser(
        prog="python -m engine.audit.offline", description="Verify a socieux audit export offline."
    )
    parser.add_argument("file")
    parser.add_argument("--public-key", help="Ed25519 public key (PEM or hex) of the seals")
    args = parser.parse_args(argv)
    try:
        check = None
        if args.public_key:
            from .signing import load_public_key, signature_check

            check = signature_check(load_public_key(args.public_key))
        report = verify_file(args.file, signature_check=check)
    except ValueError as exc:
        sys.stderr.write(f"error[invalid_argument]: {exc}\n")
        return 2
    for prob in report.problems:
        where = f"line {prob.line}: " if prob.line else ""
        ident = f"{prob.instance_id} v{prob.version}: " if prob.instance_id else ""
        sys.stdout.write(f"{prob.kind}: {where}{ident}{prob.detail}\n")
    sys.stdout.write(
        f"{report.events} events, {report.instances} instances, {report.seals} "
        f"seals checked ({report.scope}): "
        f"{'OK' if report.ok else f'{len(report.problems)} problem(s)'}\n"
    )
    return 0 if report.ok else 6


if __name__ == "__main__":
    raise SystemExit(main())
