"""The root command's subcommands, loaded one module at a time when first needed.

``socieux --help`` lists every command with its one-line help from the table below,
without importing a command module (nor the engine behind it); ``socieux list`` imports
only :mod:`engine.cli.commands.reads`. ``tests/unit/test_cli_lazy.py`` checks that the
table names every command, in the order and with the help that the modules give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from importlib import import_module

import typer
import typer.main
from typer._click import Command  # typer vendors click
from typer.core import TyperCommand

__all__ = ["COMMANDS", "LazyCommands"]

COMMANDS: dict[str, tuple[str, str]] = {
    "submit": ("instances", "Start a new instance of WORKFLOW with its start trigger."),
    "fire": ("instances", "Fire TRIGGER on an instance."),
    "show": (
        "instances",
        "Show an instance: state, key facts, stage timeline, what may happen next, warnings.",
    ),
    "history": (
        "instances",
        "The instance's timeline: when, who (role), trigger, from -> to, reason.",
    ),
    "next": ("instances", "What may happen now, and why other triggers are refused."),
    "demo": ("demo", "Load a realistic portfolio through the engine's own commands."),
    "list": (
        "reads",
        "List requests, most recent activity first, with filters (combined with AND).",
    ),
    "stats": (
        "reads",
        "Portfolio figures: counts by state, area, region, country and year; stage times;\n"
        "the funnel.",
    ),
    "serve": (
        "serve",
        "Serve the read-only web console: portfolio, requests, audit and operations.",
    ),
    "correct": (
        "amend",
        "Correct payload fields of an earlier event (a new event; the old one stays).",
    ),
    "approve-correction": (
        "amend",
        "Approve a pending correction (not its requester): it takes effect.",
    ),
    "note": ("amend", "Add a note to an instance's history."),
    "replay": (
        "audit",
        "Rebuild every instance with the definitions installed now (--check).",
    ),
    "migrate": (
        "migrate",
        "Plan (dry run) or apply a migration of WORKFLOW's instances to version --to.",
    ),
    "inbox": (
        "inbox",
        "Every instance where this actor may fire something now: the triggers, the next due\n"
        "time and whether it is overdue (separation of duties honoured).",
    ),
    "projections": ("projections:group", "Projection status, rebuild and the worker."),
    "hooks": ("hooks:group", "Host apps' subscribers: positions and parked events."),
    "workflows": ("workflows:group", "List and show workflow definitions."),
    "evidence": ("amend", "Supporting documents, by fingerprint."),
    "audit": ("audit:group", "Verify, seal, export and explain the tamper-evident history."),
    "deadlines": ("deadlines:group", "Deadlines: the worker (run) and the due table."),
    "privacy": ("privacy:group", "Personal data: erasure, holds, keys."),
}
"""Every root command, in the order ``--help`` lists them: name -> (the module under
``engine.cli.commands`` that defines it, ``:group`` for a group built by the module's
``build()``; the first paragraph of its help)."""


def _audit_group() -> typer.Typer:
    from engine.cli.commands import amend, audit

    group = audit.build()
    amend.register_audit(group)
    return group


def _register(app: typer.Typer, source: str) -> None:
    """Put the commands of ``source`` (a ``COMMANDS`` module entry) on ``app``."""
    module, _, kind = source.partition(":")
    if kind != "group":
        import_module(f"engine.cli.commands.{module}").register(app)
        return
    build: Callable[[], typer.Typer] = (
        _audit_group if module == "audit" else import_module(f"engine.cli.commands.{module}").build
    )
    name = module
    app.add_typer(build(), name=name, help=COMMANDS[name][1])


class LazyCommands(MutableMapping[str, Command]):
    """The root group's ``commands``: each one built from its module when first looked up.

    ``settings`` are the root Typer's (markup mode, exceptions), given to every sub-app so
    each command is built exactly as when the whole tree is built at once.
    """

    def __init__(self, settings: Callable[[], typer.Typer]) -> None:
        self._new_app = settings
        self._loaded: dict[str, Command] = {}
        self._extra: dict[str, Command] = {}

    def stub(self, name: str) -> Command:
        """A placeholder carrying only ``name``'s help (no module imported)."""
        if name in self._loaded or name in self._extra:
            return self[name]
        return TyperCommand(name, help=COMMANDS[name][1])  # for the listing only

    def __getitem__(self, name: str) -> Command:
        if name in self._extra:
            return self._extra[name]
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            app = self._new_app()
            app.callback()(_nothing)  # a callback makes a group even for one command
            _register(app, COMMANDS[name][0])
            group = typer.main.get_group(app)
            for key, command in group.commands.items():  # a module's siblings come along
                self._loaded.setdefault(key, command)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._extra[name] = command

    def __delitem__(self, name: str) -> None:
        del self._extra[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._extra if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(1 for name in self._extra if name not in COMMANDS)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._extra


def _nothing() -> None:
    """The throwaway group's callback."""
