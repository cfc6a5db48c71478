"""The root command loads each command module on first use: its table must match the modules,
and ``--help`` must import none of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer
import typer.main

from engine.cli.lazy import COMMANDS, LazyCommands, _register


def _sub_app() -> typer.Typer:
    return typer.Typer(pretty_exceptions_enable=False, rich_markup_mode=None)


def test_the_table_names_every_command_of_every_module_with_its_own_help() -> None:
    built: dict[str, str] = {}
    for source in dict.fromkeys(source for source, _ in COMMANDS.values()):
        app = _sub_app()
        app.callback()(lambda: None)
        _register(app, source)
        for name, command in typer.main.get_group(app).commands.items():
            assert name not in built, f"{name} registered by two modules"
            built[name] = (command.help or "").split("\n\n")[0]
    assert set(built) == set(COMMANDS)
    assert {name: help_ for name, (_, help_) in COMMANDS.items()} == built


def test_a_lookup_builds_the_command_from_its_module_only() -> None:
    commands = LazyCommands(_sub_app)
    assert list(commands) == list(COMMANDS)
    assert "list" in commands
    assert "nope" not in commands
    listed = commands["list"]
    assert listed.name == "list"
    assert commands["list"] is listed  # built once
    assert commands["stats"].name == "stats"  # its sibling came along
    assert commands.stub("submit").get_short_help_str(80) == COMMANDS["submit"][1]


_HELP = """
import sys
from engine.cli import main
sys.argv = ["socieux", "--help"]
try:
    main()
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("engine.cli.commands") or
             m in ("engine.facade", "engine.bootstrap") or
             m.split(".")[0] in ("pydantic", "eventsourcing", "rich", "workflows",
                                 "projections")), file=sys.stderr)
"""


def test_help_imports_no_command_module_nor_the_engine() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _HELP],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert "list" in done.stdout
    assert "privacy" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"
