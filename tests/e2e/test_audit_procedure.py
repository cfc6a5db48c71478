"""The auditor's procedure in docs/audit.md runs as written: heads, a bundle checked by
three verifiers (socieux, the stdlib-only folder, Node.js), consistency, tampering."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "audit.md"


def procedure() -> str:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- auditor-procedure -->", 1)[1].split("<!-- /auditor-procedure -->")[0]
    return block.split("```bash\n", 1)[1].rsplit("```", 1)[0]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_auditors_procedure_runs_as_documented(tmp_path: Path) -> None:
    script = procedure()
    assert "socieux audit prove" in script
    assert "verify_bundle.js" in script
    (tmp_path / "engine").symlink_to(ROOT / "engine")  # the copied verifiers, as documented
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("SOCIEUX_DB", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert (tmp_path / "bundle.json").is_file()
    assert done.stdout.count(": OK") >= 3
