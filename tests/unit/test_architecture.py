"""Dependencies point one way: the engine never imports workflows or projections."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_engine_outside_cli_never_imports_workflows_or_projections() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "engine").rglob("*.py")
        if "cli" not in p.relative_to(ROOT / "engine").parts
        and _imports(p) & {"workflows", "projections"}
    ]
    assert offenders == []


def test_importing_the_engine_has_no_side_effects() -> None:
    code = (
        "import sys, engine, engine.facade, engine.persistence.store\n"
        "heavy = [m for m in ('workflows', 'projections', 'psycopg') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
