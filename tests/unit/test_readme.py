"""The README's library example runs as written (its free names bound to valid values)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from engine import Actor
from engine.testing import payload

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_library_example_runs(tmp_path: Path) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert 'Engine.open("sqlite:///socieux.db")' in block
    code = block.replace("sqlite:///socieux.db", f"sqlite:///{tmp_path / 'readme.db'}")
    names: dict[str, object] = {
        "request": payload("submit"),
        "opinion": payload("give_opinion"),
        "plan": payload("fine_tune"),
        "approval": payload("approve"),
        "some_time": datetime(2999, 1, 1, tzinfo=UTC),  # after every step: the state now
        "current_user": Actor("dg-intpa-2", "commission"),
        "request_id": "readme-1",
        "notify_delegation": lambda event: None,
    }
    exec(compile(code, str(README), "exec"), names)  # the README's own code
    assert (tmp_path / "readme.db").exists()
