"""Verify an audit export offline: no database, no engine configuration.

This module and the ones it imports (all in this folder, by relative import) use only the
standard library; ``cryptography`` is imported (through ``signing``) only when a public
key is given. An auditor can run::

    python -m engine.audit.offline export.jsonl [--public-key seal-key.pub]

or copy this folder anywhere (say as ``offline/``) and run ``python -m offline export.jsonl``.
Besides hashes, chains and seals, an export of schema 2 carries the definitions its events
pin, so the workflow rules are checked too (:mod:`.semantic`); schema 1 exports are still
read, with hash checks only.

It exits 0 when everything verifies, 6 when something does not, 2 on bad usage.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chain import Problem, Record
from .checker import ChainChecker, Scope, SignatureCheck
from .lines import definition_of, event_record, is_hex64, is_int, parse, seal_of
from .semantic import RuleChecker

__all__ = [
    "EXPORT_SCHEMA",
    "READABLE_SCHEMAS",
    "ExportFormatError",
    "OfflineReport",
    "main",
    "verify_file",
]

EXPORT_SCHEMA = "socieux.audit-export/2"
"""The schema exports are written in: version 1 plus ``definition`` lines."""
SCHEMA_V1 = "socieux.audit-export/1"
READABLE_SCHEMAS = (SCHEMA_V1, EXPORT_SCHEMA)
_HASH_ONLY = "hash checks only: a schema 1 export holds no definitions, so rules were not checked"


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
    definitions: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems


MAX_LINE = 16 * 1024 * 1024
"""The longest export line read (16 Mi characters): a longer one is not an export's."""


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as fh:
            number = 0
            while line := fh.readline(MAX_LINE + 1):
                number += 1
                if len(line) > MAX_LINE:
                    msg = f"line {number} is longer than {MAX_LINE} characters"
                    raise ExportFormatError(msg)
                yield number, line
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise ExportFormatError(msg) from None


def _scope(header: Any) -> tuple[Scope, str]:
    if not isinstance(header, dict) or header.get("type") != "header":
        msg = "line 1 is not a socieux audit export header"
        raise ExportFormatError(msg)
    if header.get("schema") not in READABLE_SCHEMAS:
        msg = (
            f"unsupported export schema {header.get('schema')!r} (this verifier reads "
            f"{', '.join(READABLE_SCHEMAS)})"
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
    definitions: dict[str, dict[str, Any]] | None = None
    end: dict[str, Any] | None = None
    end_line: int = 0
    last_line: int = 0
    definition_lines: int = 0

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
            obj, duplicates = parse(text)
        except ValueError:
            self.bad(n, "altered", "not valid JSON")
            return
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind == "event":
            self._event(n, obj, text, duplicates)
        elif duplicates:
            self.bad(
                n, "altered", f"the line repeats the key(s) {', '.join(sorted(set(duplicates)))}"
            )
        else:
            self._dispatch(n, kind, obj)

    def _event(self, n: int, obj: dict[str, Any], text: str, duplicates: list[str]) -> None:
        rec = event_record(obj, n, text, duplicates)
        if rec is None:
            self.bad(n, "altered", "not a well-formed event line")
        else:
            self.checker.add(rec)

    def _definition(self, n: int, obj: dict[str, Any]) -> None:
        self.definition_lines += 1
        if self.definitions is None:
            self.bad(n, "altered", "unexpected line type 'definition'")
            return
        found = definition_of(obj)
        if isinstance(found, str):
            self.bad(n, "altered", found)
        else:
            self.definitions.setdefault(found[0], found[1])

    def _dispatch(self, n: int, kind: Any, obj: Any) -> None:
        if kind == "seal":
            parsed = seal_of(obj, n)
            if parsed is None:
                self.bad(n, "altered", "not a well-formed seal line")
            else:
                self.checker.close_seal(*parsed)
        elif kind == "definition":
            self._definition(n, obj)
        elif (
            kind == "anchor"
            and self.checker.scope.anchored
            and self.checker.running is None
            and is_int(obj.get("position"))
            and is_int(obj.get("events"))
            and is_hex64(obj.get("running_hash"))
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
        return
    counted = {"events": events, "seals": seals, "lines": p.end_line}
    if p.definitions is not None:
        counted["definitions"] = p.definition_lines
    stated = {k: p.end.get(k) for k in counted}
    if stated != counted:
        p.bad(
            p.end_line,
            "missing",
            "the end line counts "
            + ", ".join(f"{v} {k}" for k, v in stated.items())
            + "; the file has "
            + ", ".join(f"{v} {k}" for k, v in counted.items()),
        )


def _second_pass(path: Path, suspects: set[str]) -> dict[str, list[Record]]:
    found: dict[str, list[Record]] = {s: [] for s in suspects}
    for n, text in _lines(path):
        try:
            obj, duplicates = parse(text)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("type") == "event":
            rec = event_record(obj, n, text, duplicates)
            if rec is not None and rec.instance_id in found:
                found[rec.instance_id].append(rec)
    return found


def _header(lines: Iterator[tuple[int, str]]) -> tuple[Scope, str, bool, list[str]]:
    first = next(lines, None)
    try:
        header, duplicates = parse(first[1]) if first else (None, [])
    except ValueError:
        header, duplicates = None, []
    scope, described = _scope(header)  # refuses anything but a header object
    return scope, described, isinstance(header, dict) and header["schema"] != SCHEMA_V1, duplicates


def verify_file(
    path: str | Path, *, signature_check: SignatureCheck | None = None
) -> OfflineReport:
    """Verify an export file; ``ExportFormatError`` if it is not one."""
    path = Path(path)
    lines = _lines(path)
    scope, described, with_rules, duplicates = _header(lines)
    report = OfflineReport(
        path=str(path), scope=described if with_rules else f"{described}; {_HASH_ONLY}"
    )
    definitions: dict[str, dict[str, Any]] | None = {} if with_rules else None
    rules = None
    if definitions is not None:
        unknown = "the export holds no intact definition with this hash"
        rules = RuleChecker(definitions.get, anchored=scope.anchored, unknown=unknown)
    checker = ChainChecker(scope=scope, signature_check=signature_check, rules=rules)
    p = _Pass(checker, report, definitions, last_line=1)
    if duplicates:
        p.bad(1, "altered", f"the line repeats the key(s) {', '.join(sorted(set(duplicates)))}")
    for n, text in lines:
        p.line(n, text)
    result = p.checker.finish()
    _check_end(p, result.events, result.seals)
    report.problems[:0] = result.problems
    for iid, records in _second_pass(path, set(result.suspects)).items():
        report.problems += result.judge(iid, records, anchored=scope.anchored)
    report.events, report.instances = result.events, result.instances
    report.seals, report.signatures = result.seals, result.signatures
    report.definitions = len(definitions or {})
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m engine.audit.offline FILE [--public-key K]`` (see :mod:`.command`)."""
    from .command import main as run

    return run(argv)
