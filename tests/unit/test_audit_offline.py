"""The offline verifier is a folder that needs nothing but the standard library."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import Engine
from engine.audit.offline.verifier import EXPORT_SCHEMA, ExportFormatError, main, verify_file
from engine.definition.content import to_dict
from engine.instance.hashing import canonical_json, hash_fields
from tests.helpers import REQUESTER, REVIEWER, submit
from tests.toy import toy_definition

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = ROOT / "engine/audit/offline"
PURE = sorted(str(p.relative_to(ROOT)) for p in OFFLINE.glob("*.py"))
STDLIB = set(sys.stdlib_module_names)


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported at module level (imports inside functions are lazy by design)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE)
def test_the_offline_modules_import_only_the_standard_library_and_each_other(
    module: str,
) -> None:
    imported = _top_level_imports(ROOT / module)  # relative imports stay inside the folder
    foreign = {m for m in imported if m.split(".")[0] not in STDLIB}
    assert foreign == set()


@pytest.fixture
def export_file(tmp_path: Path) -> Path:
    with Engine.open("memory://", workflows=[toy_definition()], projections=[]) as engine:
        iid = submit(engine)
        engine.fire(iid, "note", {"text": "a"}, actor=REQUESTER)
        engine.seal()
        engine.fire(iid, "review", {"score": 4}, actor=REVIEWER)
        path = tmp_path / "export.jsonl"
        with path.open("w", encoding="utf-8") as out:
            engine.export(out)
    return path


def test_a_copy_of_the_offline_folder_verifies_an_export_without_the_engine(
    tmp_path: Path, export_file: Path
) -> None:
    auditor = tmp_path / "auditor"
    shutil.copytree(OFFLINE, auditor / "offline", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(auditor)!r})\n"
        "from offline.verifier import main\n"
        f"code = main([{str(export_file)!r}])\n"
        "heavy = sorted(m for m in ('eventsourcing', 'pydantic', 'psycopg', 'cryptography')"
        " if m in sys.modules)\n"
        "print('heavy:', heavy)\n"
        "raise SystemExit(code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 events, 1 instances, 1 seals checked (the whole log): OK" in out.stdout
    assert "heavy: []" in out.stdout


def test_the_module_entry_point_exits_6_on_a_tampered_line(
    export_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = export_file.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace('"text":"a"', '"text":"b"')
    export_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main([str(export_file)]) == 6
    out = capsys.readouterr().out
    assert "altered: line 4: " in out


def test_a_cut_short_export_is_reported_missing_its_end(export_file: Path) -> None:
    lines = export_file.read_text(encoding="utf-8").splitlines()
    export_file.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    report = verify_file(export_file)
    assert [(p.kind, p.line) for p in report.problems] == [("missing", len(lines))]


def test_a_file_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"type": "something else"}\n', encoding="utf-8")
    with pytest.raises(ExportFormatError, match="not a socieux audit export"):
        verify_file(path)
    assert main([str(path)]) == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"a": 1, "b": [True, None, 2.5], "c": {"z": "é", "y": "😀"}},
        {"text": 'line\nbreak\t"quoted"\\', "n": -(2**62), "empty": {}},
        {"prev_hash": "0" * 64, "nested": [[{"k": "v"}]], "unicode": "\u00e9\u0301\u200b"},
    ],
)
def test_the_auditor_copy_of_the_hash_agrees_with_the_engine(fields: dict[str, object]) -> None:
    from engine.audit.offline.canonical import GENESIS_HASH as OFFLINE_GENESIS
    from engine.audit.offline.canonical import hash_fields as offline_hash
    from engine.instance.hashing import GENESIS_HASH, hash_fields

    assert offline_hash(fields) == hash_fields(fields)
    assert OFFLINE_GENESIS == GENESIS_HASH


def _rewrite(path: Path, change: Callable[[list[str]], list[str]]) -> Path:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")
    return path


def _as_schema_1(lines: list[str]) -> list[str]:
    kept = [json.loads(line) for line in lines if '"type":"definition"' not in line]
    kept[0]["schema"] = "socieux.audit-export/1"
    del kept[-1]["definitions"]
    kept[-1]["lines"] = len(kept)
    return [json.dumps(obj) for obj in kept]


def test_an_export_holds_its_definition_before_the_first_event_that_pins_it(
    export_file: Path,
) -> None:
    lines = [json.loads(line) for line in export_file.read_text(encoding="utf-8").splitlines()]
    assert [line["type"] for line in lines] == [
        "header", "definition", "event", "event", "seal", "event", "end"
    ]  # fmt: skip
    assert lines[0]["schema"] == EXPORT_SCHEMA == "socieux.audit-export/2"
    definition = lines[1]
    assert definition["hash"] == lines[2]["event"]["definition_hash"]
    assert definition["definition"] == json.loads(canonical_json(to_dict(toy_definition())))
    assert lines[-1]["definitions"] == 1


def test_a_schema_1_export_still_verifies_with_hash_checks_only(
    export_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _rewrite(export_file, _as_schema_1)
    report = verify_file(export_file)
    assert (report.ok, report.events, report.definitions) == (True, 3, 0)
    assert "hash checks only" in report.scope
    assert main([str(export_file)]) == 0
    assert "rules were not checked" in capsys.readouterr().out


def test_a_definition_line_that_does_not_match_its_hash_is_altered(export_file: Path) -> None:
    def widen(lines: list[str]) -> list[str]:
        line = json.loads(lines[1])
        review = next(t for t in line["definition"]["transitions"] if t["trigger"] == "review")
        review["roles"].append("requester")  # let the requester review their own request
        return [lines[0], json.dumps(line), *lines[2:]]

    problems = verify_file(_rewrite(export_file, widen)).problems
    assert [(p.kind, p.line) for p in problems if p.kind != "rule"] == [("altered", 2)]
    assert "no longer matches its hash" in next(p.detail for p in problems if p.line == 2)
    assert {(p.rule, p.version) for p in problems if p.kind == "rule"} == {("definition", 1)}


def test_a_definition_line_rehashed_is_not_the_one_the_events_pin(export_file: Path) -> None:
    def rehash(lines: list[str]) -> list[str]:
        line = json.loads(lines[1])
        line["definition"]["transitions"][0]["roles"].append("reviewer")
        line["hash"] = hash_fields(line["definition"])
        return [lines[0], json.dumps(line), *lines[2:]]

    problems = verify_file(_rewrite(export_file, rehash)).problems
    assert [(p.kind, p.rule, p.version) for p in problems] == [("rule", "definition", 1)]
    assert "the export holds no intact definition with this hash" in problems[0].detail


def test_a_line_with_a_duplicate_key_is_altered_at_that_line(export_file: Path) -> None:
    def repeat(lines: list[str]) -> list[str]:
        assert lines[5].count('"dest":"reviewed"') == 1
        lines[5] = lines[5].replace('"dest":"reviewed"', '"dest":"submitted","dest":"reviewed"')
        lines[4] = lines[4].replace('"type":"seal"', '"type":"seal","seq":7')
        return lines

    report = verify_file(_rewrite(export_file, repeat))
    found = {(p.kind, p.line, p.version) for p in report.problems}
    assert ("altered", 6, 3) in found  # the event: unreadable, at its version and line
    assert ("altered", 5, None) in found  # the seal line
    event = next(p for p in report.problems if p.line == 6)
    assert "repeats the key(s) dest" in event.detail


def test_an_export_line_longer_than_the_cap_is_refused_not_read_whole(tmp_path: Path) -> None:
    from engine.audit.offline.verifier import MAX_LINE

    path = tmp_path / "long.jsonl"
    path.write_text('{"type":"header"' + " " * MAX_LINE + "}\n", encoding="utf-8")
    with pytest.raises(ExportFormatError, match="line 1 is longer than"):
        verify_file(path)


def test_a_key_file_must_be_a_small_regular_file(tmp_path: Path) -> None:
    from engine.audit.offline.signing import MAX_KEY_FILE, load_public_key

    with pytest.raises(ValueError, match="not a regular file"):
        load_public_key("/dev/zero")
    big = tmp_path / "big.pub"
    big.write_bytes(b"0" * (MAX_KEY_FILE + 1))
    with pytest.raises(ValueError, match="larger than"):
        load_public_key(big)


def test_exporting_to_a_full_disk_is_invalid_argument_not_storage_unavailable() -> None:
    import contextlib

    from engine import InvalidArgument

    full = open("/dev/full", "w", buffering=1, encoding="utf-8")  # noqa: PTH123, SIM115
    try:
        with Engine.open("memory://", workflows=[toy_definition()], projections=[]) as engine:
            submit(engine)
            with pytest.raises(InvalidArgument, match="cannot write the export"):
                engine.export(full)
    finally:
        with contextlib.suppress(OSError):  # the buffer left behind cannot be flushed either
            full.close()
