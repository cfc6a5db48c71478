"""``socieux demo`` finds its demo through the ``socieux.demos`` entry points."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_support import as_json, run


class _Summary:
    def model_dump(self, *, mode: str) -> dict[str, Any]:
        return {"toy": True, "mode": mode}

    def text(self) -> str:
        return "toy demo loaded"


class _ToyRun:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def run(self, *, seed: int, requests: int, progress: Any) -> _Summary:
        self.log.append(("run", seed, requests))
        progress(1, 1)
        return _Summary()

    def close(self) -> None:
        self.log.append("closed")


class _ToyDemo:
    def __init__(self) -> None:
        self.log: list[Any] = []

    def open(self, url: str | None) -> _ToyRun:
        self.log.append(("open", url))
        return _ToyRun(self.log)


class _EntryPoint:
    def __init__(self, name: str, obj: object) -> None:
        self.name = name
        self.obj = obj

    def load(self) -> object:
        return self.obj


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replace the ``socieux.demos`` entry points with the list this fixture returns."""
    eps: list[Any] = []
    real = importlib.metadata.entry_points

    def fake(**kwargs: Any) -> Any:
        return eps if kwargs.get("group") == "socieux.demos" else real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    return eps


def test_the_one_installed_demo_runs_and_closes(installed: list[Any]) -> None:
    toy = _ToyDemo()
    installed.append(_EntryPoint("toy", toy))
    assert as_json("memory://", "demo", "--seed", "3", "--requests", "5") == {
        "toy": True,
        "mode": "json",
    }
    assert toy.log == [("open", "memory://"), ("run", 3, 5), "closed"]
    plain = run("memory://", "demo")
    assert (plain.exit_code, plain.stdout) == (0, "toy demo loaded\n")


def test_several_demos_need_a_workflow_name(installed: list[Any]) -> None:
    first, second = _ToyDemo(), _ToyDemo()
    installed += [_EntryPoint("one", first), _EntryPoint("two", second)]
    ambiguous = run("memory://", "demo")
    assert ambiguous.exit_code == 2
    assert ambiguous.stderr == (
        "error[invalid_argument]: 2 demos are installed; pick one with --workflow (one, two)\n"
    )
    assert run("memory://", "demo", "--workflow", "two").exit_code == 0
    assert (first.log, second.log[0]) == ([], ("open", "memory://"))
    unknown = run("memory://", "demo", "--workflow", "three")
    assert unknown.exit_code == 5
    assert unknown.stderr.startswith("error[unknown_workflow]: unknown workflow 'three'")


def test_no_installed_demo_is_one_clear_line(installed: list[Any], tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path / 'd.db'}", "demo")
    assert result.exit_code == 2
    assert result.stderr == (
        "error[invalid_argument]: no demo is installed (no socieux.demos entry point)\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "d.db").exists()


def test_the_installed_package_publishes_its_demo() -> None:
    names = [ep.name for ep in importlib.metadata.entry_points(group="socieux.demos")]
    assert "technical-assistance" in names


def test_today_ends_the_timeline_and_a_second_batch_continues(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    first = as_json(db, "demo", "--requests", "8", "--today", "2026-06-01")
    assert (first["period_start"], first["period_end"]) == ("2014-01-06", "2026-06-01")
    assert first["in_progress"] >= 2
    second = as_json(db, "demo", "--requests", "8", "--today", "2026-06-01T12:00:00Z")
    assert second["existing_before"] == 8
    assert second["period_start"] == "2023-06-02"  # the last three years, not 2014 again
    assert second["period_end"] == "2026-06-01"


@pytest.mark.parametrize("today", ["2999-01-01", "yesterday"])
def test_a_future_or_unreadable_today_is_one_line_exit_2(tmp_path: Path, today: str) -> None:
    result = run(f"sqlite:///{tmp_path / 'd.db'}", "demo", "--today", today)
    assert result.exit_code == 2
    assert result.stderr.startswith("error[invalid_argument]: ")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "d.db").exists()
