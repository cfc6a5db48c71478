"""``python -m engine.audit.offline FILE``: verify an export or a proof bundle offline.

A file whose opening names the proof-bundle schema (or any file, with ``--bundle``) is
checked as a bundle (:mod:`.bundle`); anything else as an export (:mod:`.verifier`).
Exit status: 0 when everything verifies, 6 when something does not, 2 on bad usage or a
file that is neither.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .chain import Problem

__all__ = ["main"]

_SNIFF = 4096


def _is_bundle(path: str) -> bool:
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(_SNIFF)
    except OSError:
        return False
    return head[:2] == b"\x1f\x8b" or b'"socieux.proof-bundle/' in head  # gzip: a bundle


def _print(problems: list[Problem]) -> None:
    for prob in problems:
        where = f"line {prob.line}: " if prob.line else ""
        ident = f"{prob.instance_id} v{prob.version}: " if prob.instance_id else ""
        sys.stdout.write(f"{prob.kind}: {where}{ident}{prob.detail}\n")


def _bundle(path: str, key: Any) -> int:
    from .bundle import verify_bundle

    check = None
    if key is not None:
        from .signing import message_check

        check = message_check(key)
    report = verify_bundle(path, signature=check)
    _print(report.problems)
    head = report.head
    against = f"{head.label} ({head.size} events, root {head.root[:16]})" if head else "?"
    sys.stdout.write(
        f"proof bundle of {report.instance}: {report.events} events against {against}: "
        f"{'OK' if report.ok else f'{len(report.problems)} problem(s)'}\n"
    )
    return 0 if report.ok else 6


def _export(path: str, key: Any) -> int:
    from .verifier import verify_file

    check: Callable[..., Any] | None = None
    if key is not None:
        from .signing import signature_check

        check = signature_check(key)
    report = verify_file(path, signature_check=check)
    _print(report.problems)
    sys.stdout.write(
        f"{report.events} events, {report.instances} instances, {report.seals} "
        f"seals checked ({report.scope}): "
        f"{'OK' if report.ok else f'{len(report.problems)} problem(s)'}\n"
    )
    return 0 if report.ok else 6


def _evidence(path: str, prefix: str, files: list[str], key: Any) -> int:
    from .evidence import match_export

    iid, matches = match_export(path, prefix, files)
    for m in matches:
        hits = "; ".join(f"v{v} {kind} {title!r}" for v, kind, title in m.matches)
        what = f"matches {hits}" if hits else "matches no recorded evidence"
        sys.stdout.write(f"{m.file}: sha256 {m.sha256[:16]}…, {m.size} bytes: {what}\n")
    verified = _export(path, key)
    unmatched = sum(1 for m in matches if not m.matches)
    sys.stdout.write(f"evidence of {iid}: {len(matches) - unmatched} of {len(matches)} "
                     "file(s) match\n")  # fmt: skip
    return 6 if verified or unmatched else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m engine.audit.offline FILE [--public-key K] [--bundle]
    [--evidence ID FILE...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m engine.audit.offline",
        description="Verify a socieux audit export, or a proof bundle, offline.",
    )
    parser.add_argument("file")
    parser.add_argument("--public-key", help="Ed25519 public key (PEM or hex) of seals and heads")
    parser.add_argument("--bundle", action="store_true", help="the file is a proof bundle")
    parser.add_argument(
        "--evidence", nargs="+", metavar=("ID", "FILE"),
        help="which evidence of instance ID (an id prefix) each FILE matches",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        key = None
        if args.public_key:
            from .signing import load_public_key

            key = load_public_key(args.public_key)
        if args.evidence:
            if len(args.evidence) < 2:
                parser.error("--evidence needs an instance id and at least one file")
            return _evidence(args.file, args.evidence[0], args.evidence[1:], key)
        if args.bundle or _is_bundle(args.file):
            return _bundle(args.file, key)
        return _export(args.file, key)
    except ValueError as exc:  # ExportFormatError, BundleFormatError, a bad key
        sys.stderr.write(f"error[invalid_argument]: {exc}\n")
        return 2
