"""Opening an engine and reading imports neither ``cryptography`` (8 MB resident; loaded when a
personal field is first sealed or opened) nor the audit modules nor the deadline service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_OPEN_AND_READ = """
import sys
from engine import Engine
from tests.toy import toy_definition

with Engine.open(sys.argv[1], workflows=[toy_definition()]) as engine:
    engine.requests(limit=1)
    engine.projection_status()
print(sorted(m for m in sys.modules if m.split(".")[0] == "cryptography"
             or m in ("engine.audit.explain", "engine.audit.verify", "engine.deadlines.service")))
"""


def test_opening_and_reading_imports_no_cryptography_audit_or_deadline_service(
    tmp_path: Path,
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _OPEN_AND_READ, f"sqlite:///{tmp_path / 'open.db'}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert out.stdout.strip() == "[]"
