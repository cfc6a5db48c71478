"""``socieux audit head | heads | prove | consistency`` and ``verify --bundle | --against``:
exit 0 when everything verifies, 6 on tampering, 2 on a file that is not what it should be
(one line on stderr, never a traceback)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from engine import Engine
from tests.e2e.cli_support import as_json, ok, run
from tests.helpers import REQUESTER, submit
from tests.toy import toy_definition


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, list[UUID]]:
    url = f"sqlite:///{tmp_path / 'proofs.db'}"
    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        ids = [submit(engine) for _ in range(2)]
        for iid in ids:
            engine.fire(iid, "note", {"text": "a"}, actor=REQUESTER)
    return url, ids


def test_head_prove_and_verify_the_bundle(db: tuple[str, list[UUID]], tmp_path: Path) -> None:
    url, ids = db
    assert ok(None, "audit", "keygen", str(tmp_path / "k.pem"))
    head = as_json(url, "audit", "head", "--key", str(tmp_path / "k.pem"))
    assert (head["seq"], head["size"]) == (1, 4)
    assert ok(url, "audit", "prove", str(ids[0])[:8], "-o", str(tmp_path / "b.json"))
    bundle = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    assert len(bundle["events"]) == 2
    result = run(None, "audit", "verify", "--bundle", str(tmp_path / "b.json"),
                 "--public-key", str(tmp_path / "k.pem.pub"))  # fmt: skip
    assert result.exit_code == 0, result.stdout
    assert "1 tree head" in result.stdout
    bundle["events"] = bundle["events"][1:]
    (tmp_path / "d.json").write_text(json.dumps(bundle), encoding="utf-8")
    dropped = run(None, "audit", "verify", "--bundle", str(tmp_path / "d.json"))
    assert dropped.exit_code == 6
    assert dropped.stderr.startswith("error[integrity_violation]: ")
    assert "Traceback" not in dropped.stderr


def test_heads_witness_and_verify_against_them(db: tuple[str, list[UUID]], tmp_path: Path) -> None:
    url, _ids = db
    ok(url, "audit", "head")
    lines = ok(url, "audit", "heads", "--witness").splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("4 ")
    assert lines[0].endswith(" -")
    (tmp_path / "heads.txt").write_text(lines[0] + "\n", encoding="utf-8")
    assert run(url, "audit", "verify", "--against", str(tmp_path / "heads.txt")).exit_code == 0
    assert as_json(url, "audit", "consistency", "1", str(tmp_path / "heads.txt"))["ok"] is True
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute(
            "DELETE FROM stored_events WHERE rowid = (SELECT MAX(rowid) FROM stored_events)"
        )
    conn.close()
    result = run(url, "audit", "verify", "--against", str(tmp_path / "heads.txt"))
    assert result.exit_code == 6
    assert "covers 4 events, but the log has only 3" in result.stdout
    assert [h["size"] for h in as_json(url, "audit", "heads")] == [4]


def test_a_forked_head_is_not_consistent_and_exits_6(
    db: tuple[str, list[UUID]], tmp_path: Path
) -> None:
    url, _ = db
    ok(url, "audit", "head")
    forged = f"4 {'ab' * 32} 2025-01-01T00:00:00.000000+00:00 -"
    result = run(url, "audit", "consistency", forged, "1")
    assert result.exit_code == 6
    assert "history was rewritten" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--bundle", "{missing}"], "cannot read"),
        (["verify", "--bundle", "{junk}"], "not a proof bundle"),
        (["verify", "--against", "{junk}"], "line 1: expected 'size root time signature'"),
        (["verify", "--file", "{junk}", "--bundle", "{junk}"], "not both"),
        (["consistency", "9", "1"], "no tree head #9"),
        (["prove", "ffffffff"], "ffffffff"),
    ],
)
def test_bad_files_and_arguments_are_one_line_and_exit_2_or_5(
    db: tuple[str, list[UUID]], tmp_path: Path, args: list[str], message: str
) -> None:
    url, _ = db
    ok(url, "audit", "head")
    (tmp_path / "junk.txt").write_text("not a head\n", encoding="utf-8")
    paths = {"missing": str(tmp_path / "nope.json"), "junk": str(tmp_path / "junk.txt")}
    result = run(url, "audit", *[a.format(**paths) for a in args])
    assert result.exit_code in (2, 5), (result.stdout, result.stderr)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
