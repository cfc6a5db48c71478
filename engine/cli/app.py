"""The root ``socieux`` command: global options, logging, and the command groups."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Annotated

import typer

from engine.cli.console import CliState, fail

__all__ = ["build_app"]


class LogFormat(StrEnum):
    """How the CLI writes logs (always to stderr)."""

    text = "text"
    json = "json"


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is logged (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(fmt: LogFormat) -> None:
    """The CLI (never the library) configures structlog: text shows warnings, json all."""
    import structlog

    if fmt is LogFormat.json:
        renderer: structlog.typing.Processor = structlog.processors.JSONRenderer()
        level = logging.INFO
    else:
        # Tracebacks without local variables: a guard's locals hold the payload, and
        # personal data must never reach a log (docs/architecture.md, "Personal data").
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(),
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False),
        )
        level = logging.WARNING
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", envvar="SOCIEUX_DB", help="Database URL (default sqlite:///socieux.db)."
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON output.")
    ] = False,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", help="Log format on stderr.")
    ] = LogFormat.text,
) -> None:
    """socieux: drive and inspect event-sourced workflows."""
    if db is not None and "\x00" in db:  # sqlite3 would raise a bare ValueError
        raise fail("invalid_argument", "--db: the URL contains a NUL character", 2)
    configure_logging(log_format)
    state = CliState(db=db, json=json_output, log_format=log_format.value)
    ctx.obj = state
    ctx.call_on_close(state.close)


def build_app() -> typer.Typer:
    """Assemble the CLI (command modules are imported here, not at package import)."""
    from engine.cli.commands import (
        audit,
        demo,
        hooks,
        instances,
        projections,
        reads,
        workflows,
    )

    app = typer.Typer(
        name="socieux",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    instances.register(app)
    demo.register(app)
    reads.register(app)
    app.add_typer(
        projections.build(), name="projections", help="Projection status, rebuild and the worker."
    )
    app.add_typer(
        hooks.build(), name="hooks", help="Host apps' subscribers: positions and parked events."
    )
    app.add_typer(workflows.build(), name="workflows", help="List and show workflow definitions.")
    app.add_typer(
        audit.build(),
        name="audit",
        help="Verify, seal, export and explain the tamper-evident history.",
    )
    audit.register(app)
    return app
