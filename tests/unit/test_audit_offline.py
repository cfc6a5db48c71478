"""The offline verifier is a folder that needs nothing but the standard library."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import Engine
from engine.audit.offline.verifier import ExportFormatError, main, verify_file
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
    lines[2] = lines[2].replace('"text":"a"', '"text":"b"')
    export_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main([str(export_file)]) == 6
    out = capsys.readouterr().out
    assert "altered: line 3: " in out


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
