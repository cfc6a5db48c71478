"""The root ``socieux`` command: global options, logging, and the command groups."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from typer._click import Context as ClickContext  # typer vendors click
from typer._click import HelpFormatter
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from engine.cli.console import CliState, fail, json_errors, write_error
from engine.cli.examples import example
from engine.cli.lazy import LazyCommands
from engine.logs import ROOT_LOGGER

__all__ = ["build_app"]

_GLOBAL_FLAGS = ("--json",)
"""Global flags that may also come after the command (``socieux list --json``)."""


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


class _StructlogOnFirstLine(logging.Handler):
    """Configures structlog when the first engine line is logged, and logs it there.

    Importing structlog pulls in rich, pygments and asyncio (a tenth of a command's start);
    most commands log nothing. Until structlog is imported the engine logs through the
    standard ``socieux`` logger, where this handler waits (at the CLI's level); from the
    first line on, structlog is configured and the engine logs through it directly.
    """

    def __init__(self, fmt: LogFormat) -> None:
        super().__init__()
        self.fmt = fmt

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "socieux_fields", None)
        line = getattr(record, "socieux", None)
        if not isinstance(fields, dict) or not isinstance(line, dict):
            return
        import structlog

        if not structlog.is_configured():
            _configure_structlog(self.fmt)
        logger = structlog.get_logger(record.name)
        getattr(logger, record.levelname.lower())(line["event"], **fields)


def configure_logging(fmt: LogFormat) -> None:
    """The CLI (never the library) configures structlog: text shows warnings, json all
    (on the first line logged, unless structlog is already imported)."""
    root = logging.getLogger(ROOT_LOGGER)
    for handler in [h for h in root.handlers if isinstance(h, _StructlogOnFirstLine)]:
        root.removeHandler(handler)
    if "structlog" in sys.modules:
        _configure_structlog(fmt)
        return
    root.setLevel(logging.INFO if fmt is LogFormat.json else logging.WARNING)
    root.addHandler(_StructlogOnFirstLine(fmt))


def _configure_structlog(fmt: LogFormat) -> None:
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


class _RootGroup(TyperGroup):
    """The root command: ``--json`` anywhere before ``--``; under it, usage errors as JSON.
    Its subcommands are built on first lookup (:class:`~engine.cli.lazy.LazyCommands`)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = self.lazy = LazyCommands(_sub_app)

    def format_commands(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """The listing from each command's help in the table: no module imported."""
        real, self.commands = self.commands, {n: self.lazy.stub(n) for n in self.lazy}
        try:
            super().format_commands(ctx, formatter)
        finally:
            self.commands = real

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        moved = [a for a in args[:end] if a in _GLOBAL_FLAGS]
        rest = [a for a in args[:end] if a not in _GLOBAL_FLAGS]
        as_json = bool(moved)
        json_errors.set(as_json)
        try:
            return super().parse_args(ctx, [*dict.fromkeys(moved), *rest, *args[end:]])
        except UsageError as exc:
            if not as_json:
                raise
            raise _json_usage(exc) from None

    def invoke(self, ctx: ClickContext) -> object:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if not json_errors.get():
                raise
            raise _json_usage(exc) from None


class _JsonUsageError(UsageError):
    """A usage error shown as ``{"error": {"code": "invalid_argument", ...}}``."""

    def show(self, file: object = None) -> None:
        del file  # always stderr
        write_error("invalid_argument", self.format_message(), as_json=True)


def _json_usage(exc: UsageError) -> _JsonUsageError:
    return _JsonUsageError(exc.format_message(), exc.ctx)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("socieux")
        except PackageNotFoundError:  # pragma: no cover - run from a bare source tree
            number = "unknown"
        typer.echo(f"socieux {number}")
        raise typer.Exit(0)


def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", envvar="SOCIEUX_DB", help="Database URL (default sqlite:///socieux.db)."
        ),
    ] = None,
    replica: Annotated[
        list[str] | None,
        typer.Option(
            "--replica",
            envvar="SOCIEUX_REPLICAS",
            help="A PostgreSQL streaming replica of --db to read from (repeat; the variable "
            "takes URLs separated by spaces). Commands still go to --db.",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON output.")
    ] = False,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", help="Log format on stderr.")
    ] = LogFormat.text,
    version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """socieux: drive and inspect event-sourced workflows."""
    del version_flag  # handled eagerly by _version
    state = CliState(db=db, json=json_output, log_format=log_format.value,
                     replicas=list(replica or []))  # fmt: skip
    ctx.obj = state
    if db is not None and "\x00" in db:  # sqlite3 would raise a bare ValueError
        raise fail("invalid_argument", "--db: the URL contains a NUL character", 2)
    configure_logging(log_format)
    ctx.call_on_close(state.close)


_ROOT_EXAMPLE = example("socieux --json list --limit 5", "socieux list --limit 5 --json")


def _sub_app() -> typer.Typer:
    """A Typer with the root's settings, to build one command module's commands on."""
    return typer.Typer(pretty_exceptions_enable=False, rich_markup_mode=None)


def build_app() -> typer.Typer:
    """Assemble the CLI. Each command's module is imported when that command is first
    looked up (:mod:`engine.cli.lazy`), so ``--help`` imports none of them."""
    app = typer.Typer(
        name="socieux",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        cls=_RootGroup,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback(epilog=_ROOT_EXAMPLE)(_root)
    return app
