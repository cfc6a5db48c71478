"""The engine's loggers: silent unless the host configures logging, and cheap when silent.

The library never calls ``structlog.configure()``. Each log call goes one of two ways,
decided when it is made (a host may configure logging after importing the engine):

- the host configured structlog (``structlog.is_configured()``): the line goes through
  ``structlog.get_logger(name)``, exactly as a plain structlog logger would;
- otherwise it goes to the standard :mod:`logging` logger of the same name (a child of
  ``socieux``), only if that logger is enabled for the level: a disabled line costs one
  level check, no formatting. The ``socieux`` logger gets a :class:`logging.NullHandler`
  on first use, so a host that configured nothing sees nothing, not even warnings.

The stdlib record's message is ``event key=value ...``; the fields are also on the record
as ``record.socieux`` (a dict) for structured handlers. The fields bound by
:func:`bound_fields` (the ``correlation_id`` and ``actor_id`` of
:func:`engine.commands.context.command_context`) and ``structlog.contextvars`` are merged
into them.

structlog is imported by the host, never by the engine: importing it pulls in rich,
pygments and asyncio (a third of an opened engine's memory). A host that configured
structlog has imported it, so "not imported" means "not configured"; while it is
imported, :func:`bound_fields` binds its ``structlog.contextvars`` too.

There is deliberately no ``exception()``: the engine logs an exception's type, never its
message or traceback (both may hold personal data).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any

__all__ = ["ROOT_LOGGER", "EngineLogger", "bound_fields", "get_logger"]

ROOT_LOGGER = "socieux"
"""The standard-library logger every engine logger is a child of."""

_null_handler_added = False
_FIELDS: ContextVar[dict[str, object]] = ContextVar("socieux_log_fields", default={})  # noqa: B039 - never mutated


def _structlog() -> ModuleType | None:
    """structlog if the host imported it (it cannot be configured otherwise)."""
    return sys.modules.get("structlog")


@contextmanager
def bound_fields(**fields: object) -> Iterator[None]:
    """Add ``fields`` to every engine log line in the block (and, when the host uses
    structlog, to its ``structlog.contextvars``)."""
    token = _FIELDS.set({**_FIELDS.get(), **fields})
    try:
        module = _structlog()
        if module is None:
            yield
        else:
            with module.contextvars.bound_contextvars(**fields):
                yield
    finally:
        _FIELDS.reset(token)


def get_logger(name: str) -> EngineLogger:
    """The engine's logger ``name`` (``socieux.<part>``); creating it configures nothing."""
    if name != ROOT_LOGGER and not name.startswith(ROOT_LOGGER + "."):
        msg = f"engine logger names start with {ROOT_LOGGER!r}., got {name!r}"
        raise ValueError(msg)
    return EngineLogger(name, {}, logging.getLogger(name))


def _add_null_handler() -> None:
    """Once per process: without it, stdlib's last-resort handler prints warnings."""
    global _null_handler_added  # noqa: PLW0603 - one process-wide, idempotent flag
    root = logging.getLogger(ROOT_LOGGER)
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())
    _null_handler_added = True


class EngineLogger:
    """A logger with bound fields: ``bind``, then ``debug``/``info``/``warning``/``error``."""

    __slots__ = ("_context", "_name", "_stdlib")

    def __init__(self, name: str, context: dict[str, Any], stdlib: logging.Logger) -> None:
        self._name = name
        self._context = context
        self._stdlib = stdlib

    @property
    def name(self) -> str:
        """The logger's name (``socieux.<part>``)."""
        return self._name

    def bind(self, **fields: Any) -> EngineLogger:
        """A logger that adds ``fields`` to every line."""
        return EngineLogger(self._name, {**self._context, **fields}, self._stdlib)

    def enabled(self, level: int = logging.INFO) -> bool:
        """Whether a line at ``level`` would be logged now (structlog configured, or the
        standard logger enabled for it): lets a hot path skip building its fields."""
        module = _structlog()
        if module is not None and module.is_configured():
            return True
        if not _null_handler_added:
            _add_null_handler()
        return self._stdlib.isEnabledFor(level)

    def debug(self, event: str, **fields: Any) -> None:
        """Log ``event`` at DEBUG."""
        self._log(logging.DEBUG, "debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Log ``event`` at INFO."""
        self._log(logging.INFO, "info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Log ``event`` at WARNING."""
        self._log(logging.WARNING, "warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        """Log ``event`` at ERROR."""
        self._log(logging.ERROR, "error", event, fields)

    def _log(self, level: int, method: str, event: str, fields: dict[str, Any]) -> None:
        module = _structlog()
        if module is not None and module.is_configured():
            proxy = module.get_logger(self._name)  # reads the configuration per call
            getattr(proxy, method)(event, **{**self._context, **fields})
            return
        if not _null_handler_added:
            _add_null_handler()
        if not self._stdlib.isEnabledFor(level):
            return
        bound = _FIELDS.get()
        if module is not None:
            bound = {**bound, **module.contextvars.get_contextvars()}
        merged = {**bound, **self._context, **fields}
        # ``socieux_fields``: what the structlog path would have been given (a handler that
        # hands records on to structlog, as the CLI's does, logs exactly that line)
        extra = {
            "socieux": {"event": event, **merged},
            "socieux_fields": {**self._context, **fields},
        }
        # stacklevel 3: the record names the engine's line that logged, not this module
        self._stdlib.log(level, _message(event, merged), extra=extra, stacklevel=3)


def _message(event: str, fields: dict[str, Any]) -> str:
    """``event key=value ...``; values with spaces or quotes are quoted."""
    parts = [event]
    for key, value in fields.items():
        text = str(value)
        if not text or any(c.isspace() or c in "\"'=" for c in text):
            text = repr(text)
        parts.append(f"{key}={text}")
    return " ".join(parts)
