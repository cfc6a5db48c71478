"""The ``python amendments`` examples of docs/audit.md run in order, as one script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def test_the_corrections_evidence_and_effective_time_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python amendments\n(.*?)```", text, re.DOTALL)
    assert len(blocks) >= 6, "each capability has its worked example"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # running our own docs
    printed = capsys.readouterr().out
    assert "invalid_correction" in printed
    assert "guard_rejected" in printed
    assert (tmp_path / "amendments.jsonl").is_file()
