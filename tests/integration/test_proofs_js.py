"""The bundle verifier written in JavaScript (Node.js, standard library only) agrees with
the Python one: on real bundles (hash format 1), on bundles of RFC 8785 events (format 2),
on every tampering, and on the canonical forms of random values."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import Engine
from engine.audit.merkle import inclusion_path, subtree_hash
from engine.audit.offline.merkle import leaf_hash, node_hash
from engine.audit.offline.signing import generate_key, load_signing_key
from engine.audit.offline.tree_head import head_message
from engine.instance.hashing import GENESIS_HASH, canonical_json, event_fields_hash, jcs
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, submit

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "engine" / "audit" / "offline" / "js" / "verify_bundle.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def node(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NODE or "node", *args], capture_output=True, text=True, input=stdin, check=False
    )


def python_offline(path: Path, *args: str) -> int:
    cmd = [sys.executable, "-m", "engine.audit.offline", str(path), *args]
    return subprocess.run(cmd, capture_output=True, cwd=ROOT, check=False).returncode


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path, Path]:
    generate_key(tmp_path / "head.key")
    generate_key(tmp_path / "other.key")
    return tmp_path / "head.key", tmp_path / "head.key.pub", tmp_path / "other.key.pub"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def bundles(open_engine: EngineFactory, keys: tuple[Path, Path, Path]) -> list[dict[str, Any]]:
    """Two requests' bundles from a real store, against one signed head."""
    engine = open_engine(projections=[])
    ids = [submit(engine) for _ in range(2)]
    for n in range(3):
        for iid in ids:
            engine.fire(iid, "note", {"text": f"n{n} ü €"}, actor=REQUESTER)
    engine.head(key=keys[0])
    found = []
    for iid in ids:
        out = io.StringIO()
        engine.prove(iid, out)
        found.append(json.loads(out.getvalue()))
    return found


def as_format_2(bundle: dict[str, Any], key: Path) -> dict[str, Any]:
    """The same request written in hash format 2 (RFC 8785), in a tree of its own."""
    size = bundle["head"]["size"] + 5
    rng = random.Random(7)
    leaves = [rng.randbytes(32) for _ in range(size)]
    prev, events = GENESIS_HASH, []
    for item in bundle["events"]:
        event = {**item["event"], "hash_format": 2, "event_version": 1, "prev_hash": prev}
        event["measure"] = {"x": 1e21, "y": 1e-7, "z": 0.1, "big": 2**53, "é": "ö"}
        prev = event_fields_hash(event)
        leaves[item["index"] + 3] = bytes.fromhex(prev)
        events.append({**item, "event": event, "hash": prev, "index": item["index"] + 3})
    hashed = [leaf_hash(x) for x in leaves]

    def node_of(level: int, index: int) -> bytes:
        if level == 0:
            return hashed[index]
        return node_hash(node_of(level - 1, 2 * index), node_of(level - 1, 2 * index + 1))

    root = subtree_hash(0, size, node_of).hex()
    for e in events:
        e["proof"] = [
            p.hex()
            for p in inclusion_path(e["index"], size, lambda a, b: subtree_hash(a, b, node_of))
        ]
    at = bundle["head"]["at"]
    signature = load_signing_key(key).sign(head_message(size, root, at)).hex()
    head = {**bundle["head"], "size": size, "root": root, "signature": signature}
    return {**bundle, "head": head, "events": events}


def save(tmp_path: Path, name: str, bundle: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return path


def test_both_verifiers_accept_real_and_rfc8785_bundles(
    bundles: list[dict[str, Any]], keys: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    two = as_format_2(bundles[0], keys[0])
    assert jcs(two["events"][0]["event"]) != canonical_json(two["events"][0]["event"])
    for name, bundle in (("one.json", bundles[0]), ("two.json", two)):
        path = save(tmp_path, name, bundle)
        assert Engine.verify_bundle(path, public_key=keys[1]).ok
        assert python_offline(path, "--public-key", str(keys[1])) == 0
        done = node(str(SCRIPT), str(path), "--public-key", str(keys[1]))
        assert (done.returncode, done.stdout.strip().endswith(": OK")) == (0, True), done.stdout


def test_both_verifiers_catch_each_tampering(
    bundles: list[dict[str, Any]], keys: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    good, other = as_format_2(bundles[0], keys[0]), bundles[1]
    cases: dict[str, dict[str, Any]] = {}
    cases["dropped"] = {**good, "events": good["events"][:1] + good["events"][2:]}
    altered = json.loads(json.dumps(good))
    altered["events"][1]["event"]["measure"]["z"] = 0.2
    cases["altered"] = altered
    borrowed = json.loads(json.dumps(bundles[0]))
    borrowed["events"][2]["proof"] = other["events"][2]["proof"]
    cases["borrowed"] = borrowed
    cases["relabelled"] = {**bundles[0], "instance": other["instance"]}
    cases["rerooted"] = {**good, "head": {**good["head"], "root": other["head"]["root"]}}
    for name, bundle in cases.items():
        path = save(tmp_path, f"{name}.json", bundle)
        assert not Engine.verify_bundle(path).ok, name
        assert python_offline(path) == 6, name
        assert node(str(SCRIPT), str(path)).returncode == 6, name
    path = save(tmp_path, "ok.json", good)
    wrong = node(str(SCRIPT), str(path), "--public-key", str(keys[2]))
    assert wrong.returncode == 6
    assert "its signature does not verify" in wrong.stdout


@pytest.mark.parametrize(
    "text", ["", "[]", '{"schema":"x"}', '{"schema":"socieux.proof-bundle/1","head":{}}', "{"]
)
def test_a_file_that_is_no_bundle_is_exit_2(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    done = node(str(SCRIPT), str(path))
    assert done.returncode == 2
    assert done.stderr.startswith("error[invalid_argument]: not a proof bundle")


def test_the_two_languages_print_the_same_canonical_json() -> None:
    rng = random.Random(9162)
    values: list[object] = []
    for _ in range(400):
        key = "".join(chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0xD7FF),
                                      rng.randint(0xE000, 0xFFFF), rng.randint(0x10000, 0x10FFFF)]))
                      for _ in range(3))  # fmt: skip
        number = rng.choice([
            rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30), float(rng.randint(-10**6, 10**6)),
            rng.randint(-(2**53), 2**53), rng.random(),
        ])  # fmt: skip
        values.append({key: number, "a": [True, None, "\n\x01\u2028"], "é": {"z": 1, "a": 2.5}})
    script = (
        f"const v=require({json.dumps(str(SCRIPT))});"
        "const lines=require('fs').readFileSync(0,'utf8').trim().split('\\n');"
        "for(const l of lines){const x=v.parseJson(l);"
        "console.log(JSON.stringify([v.format1(x),v.jcs(x)]));}"
    )
    done = node("-e", script, stdin="\n".join(json.dumps(v, ensure_ascii=False) for v in values))
    assert done.returncode == 0, done.stderr
    got = [json.loads(line) for line in done.stdout.strip("\n").split("\n")]
    assert got == [[canonical_json(v), jcs(v)] for v in values]
