"""Dependencies point one way, inside the engine too, and no concrete workflow lives in it.

The table below is the engine's layering: each part names the parts it may import. A new
import that breaks it fails here with the file and the import.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"

BASE = {"errors", "logs"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "logs": set(),
    "instance": BASE,
    "definition": BASE | {"instance"},
    "persistence": BASE | {"instance"},
    "commands": BASE | {"instance", "definition", "persistence"},
    "queries": BASE | {"instance", "definition", "persistence", "commands"},
    "projection": BASE | {"instance", "persistence"},
    "hooks": BASE | {"instance", "persistence", "projection", "commands"},
    "audit": BASE | {"instance", "definition", "persistence", "commands", "queries"},
    "deadlines": BASE | {"instance", "definition", "persistence", "commands", "projection"},
    "corrections": BASE | {"instance", "definition", "persistence", "commands", "queries"},
    "privacy": BASE | {"instance", "definition", "persistence", "commands", "queries", "audit"},
    "bootstrap": BASE
    | {"instance", "definition", "persistence", "commands", "queries", "projection", "hooks"}
    | {"audit", "deadlines", "privacy"},
    "facade": BASE
    | {"instance", "definition", "persistence", "commands", "queries", "projection", "hooks"}
    | {"audit", "bootstrap", "deadlines", "corrections", "privacy"},
    "testing": BASE | {"instance", "definition", "projection", "facade"},
    # The replicated engine is the facade's subclass (reads routed to replicas); the facade
    # imports it only inside Engine.open(replicas=...), to return it.
    "replicated": BASE
    | {"definition", "persistence", "commands", "projection"}
    | {"bootstrap", "facade"},
}
ALLOWED["facade"] = ALLOWED["facade"] | {"replicated"}
"""Part -> the engine parts it may import (``cli`` may import everything, and nothing may
import ``cli``). ``engine/__init__.py`` re-exports public names lazily."""


def _part(path: Path) -> str:
    rel = path.relative_to(ENGINE)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


def _engine_imports(path: Path) -> set[str]:
    """The engine parts ``path`` imports (absolute imports; relative ones stay inside)."""
    return _imports_of(path.read_text(encoding="utf-8"))


def _imports_of(source: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "engine" and len(parts) > 1:
                found.add(parts[1])
            elif parts[0] in {"workflows", "projections"}:
                found.add(parts[0])
    return found


def _engine_modules() -> list[Path]:
    return sorted(p for p in ENGINE.rglob("*.py") if p != ENGINE / "__init__.py")


@pytest.mark.parametrize("path", _engine_modules(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_each_module_imports_only_the_parts_its_layer_allows(path: Path) -> None:
    part = _part(path)
    if part in {"cli", "web"}:
        return  # the CLI and the console are the outermost layer
    if "offline" in path.parts:
        pytest.skip("the offline verifier has its own, stricter test (stdlib only)")
    assert part in ALLOWED, f"engine/{part} is a new part: add it to the layering table"
    assert _violations(part, _engine_imports(path)) == set()


def _violations(part: str, imported: set[str]) -> set[str]:
    return imported - {part} - ALLOWED[part]


@pytest.mark.parametrize(
    ("part", "source", "forbidden"),
    [
        ("instance", "from engine.persistence.store import EngineApplication", {"persistence"}),
        ("definition", "import engine.cli.app", {"cli"}),
        ("commands", "from workflows.technical_assistance import definition", {"workflows"}),
        ("audit", "from engine.facade import Engine", {"facade"}),
    ],
)
def test_the_layering_check_catches_a_forbidden_import(
    part: str, source: str, forbidden: set[str]
) -> None:
    assert _violations(part, _imports_of(source)) == forbidden


def _strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _installed_workflow_names() -> set[str]:
    names = {ep.name for ep in entry_points(group="socieux.workflows")}
    return names | {n.replace("-", "_") for n in names}


def _installed_labels() -> set[str]:
    """The display labels that installed workflows supply (they belong to the workflow)."""
    from engine.commands.registry import load_entry_points

    labels: set[str] = set()
    for definition in load_entry_points():
        display = getattr(definition, "display", None)
        for fact in getattr(display, "facts", ()):
            labels.add(str(fact.label))
    return {label for label in labels if len(label) > 3}


_MODULE_PATH = re.compile(r"(?<![\w.])(workflows|projections)\.\w")


def test_no_concrete_workflow_or_read_model_is_named_inside_the_engine() -> None:
    names = _installed_workflow_names()
    assert names, "no workflow is installed: the test would prove nothing"
    offenders = []
    for path in _engine_modules():
        if _part(path) in {"cli", "web"}:
            continue
        for text in _strings(path):
            if any(n in text for n in names) or _MODULE_PATH.search(text):
                offenders.append(f"{path.relative_to(ROOT)}: {text[:60]!r}")
    assert offenders == []


def test_the_cli_names_no_workflow_and_shows_no_workflow_labels() -> None:
    names = _installed_workflow_names()
    labels = _installed_labels()
    offenders = []
    for path in sorted(p for part in ("cli", "web") for p in (ENGINE / part).rglob("*.py")):
        for text in _strings(path):
            hits = [n for n in names | labels if n in text]
            if hits:
                offenders.append(f"{path.relative_to(ROOT)}: {hits} in {text[:60]!r}")
    assert offenders == []


def test_importing_the_engine_has_no_side_effects() -> None:
    code = (
        "import sys, engine, engine.facade, engine.persistence.store\n"
        "heavy = [m for m in ('workflows', 'projections', 'psycopg') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_module_is_over_350_lines_and_no_function_over_60_without_a_reason() -> None:
    long = []
    for top in ("engine", "workflows", "projections"):
        for path in sorted((ROOT / top).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) > 350 and "# long module:" not in "\n".join(lines[:30]):
                long.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
            for node in ast.walk(ast.parse("\n".join(lines))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    size = (node.end_lineno or node.lineno) - node.lineno + 1
                    head = "\n".join(lines[node.lineno - 2 : node.lineno + 1])
                    if size > 60 and "# long function:" not in head:
                        long.append(f"{path.relative_to(ROOT)}:{node.name}: {size} lines")
    assert long == []
