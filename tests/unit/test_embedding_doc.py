"""docs/embedding.md's first integration runs as written."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"


def test_the_first_integration_runs_and_prints_what_the_guide_says(tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## 2. A first integration", 1)[1]
    code = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    out = io.StringIO()
    cwd = Path.cwd()
    os.chdir(tmp_path)  # the guide's URL is relative: sqlite:///socieux.db
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(DOC), "exec"), {})
    finally:
        os.chdir(cwd)
    # structlog's unconfigured default also prints log lines to stdout: skip them
    lines = [line for line in out.getvalue().splitlines() if "[info" not in line]
    assert lines[0] == "submitted 1"
    assert lines[1].startswith("Technical assistance to the")
    assert (tmp_path / "socieux.db").exists()


def test_the_deadlines_and_worklists_example_prints_what_the_guide_says() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## 13. Deadlines and worklists", 1)[1]
    code = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    printed = section.split("It prints:", 1)[1].split("```text\n", 1)[1].split("\n```", 1)[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {})
    lines = [line for line in out.getvalue().splitlines() if "[info" not in line]
    assert lines == printed.splitlines()
