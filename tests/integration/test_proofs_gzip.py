"""Gzip-compressed proof bundles (``-o bundle.json.gz``): written by the CLI, read by the
CLI, the stdlib-only offline verifier and the Node.js verifier; tampering is still found,
and a hostile gzip file is refused with one line."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine import Engine
from engine.cli.app import build_app
from engine.testing import walk_to

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "engine" / "audit" / "offline" / "js" / "verify_bundle.js"
runner = CliRunner()


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[str, Path, dict[str, object]]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Engine.open(url) as engine:
        iid = walk_to(engine, "disseminated").id
        walk_to(engine, "approved")
        engine.head()
    out = tmp_path / "bundle.json.gz"
    result = runner.invoke(build_app(), ["--db", url, "--json", "audit", "prove", str(iid),
                                         "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    return url, out, json.loads(result.stdout)


def offline(path: Path) -> int:
    cmd = [sys.executable, "-m", "engine.audit.offline", str(path)]
    return subprocess.run(cmd, capture_output=True, cwd=ROOT, check=False).returncode


def node(path: Path) -> int | None:
    exe = shutil.which("node")
    if exe is None:
        return None
    return subprocess.run(
        [exe, str(SCRIPT), str(path)], capture_output=True, check=False
    ).returncode


def test_a_gzip_bundle_is_smaller_and_every_verifier_reads_it(bundle) -> None:
    _, path, summary = bundle
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert summary["file_bytes"] == path.stat().st_size
    assert summary["file_bytes"] * 3 < summary["bytes"]
    assert runner.invoke(build_app(), ["audit", "verify", "--bundle", str(path)]).exit_code == 0
    assert offline(path) == 0
    assert node(path) in (0, None)


def test_tampering_inside_a_gzip_bundle_is_found(bundle, tmp_path: Path) -> None:
    _, path, _ = bundle
    doc = json.loads(gzip.decompress(path.read_bytes()))
    doc["events"][1]["event"]["audit"]["reason"] = "rewritten"
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(json.dumps(doc).encode()))
    result = runner.invoke(build_app(), ["audit", "verify", "--bundle", str(bad)])
    assert result.exit_code == 6
    assert offline(bad) == 6
    assert node(bad) in (6, None)


@pytest.mark.parametrize("kind", ["truncated", "bomb", "not_gzip"])
def test_a_hostile_gzip_file_is_one_line_and_exit_2(bundle, tmp_path: Path, kind: str) -> None:
    _, path, _ = bundle
    data = path.read_bytes()
    hostile = tmp_path / f"{kind}.json.gz"
    if kind == "truncated":
        hostile.write_bytes(data[: len(data) // 2])
    elif kind == "bomb":  # 65 MiB of spaces inflate from about 64 KiB
        hostile.write_bytes(gzip.compress(b" " * (65 * 1024 * 1024), compresslevel=9))
    else:
        hostile.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    result = runner.invoke(build_app(), ["audit", "verify", "--bundle", str(hostile)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert offline(hostile) == 2
