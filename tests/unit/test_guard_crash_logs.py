"""A guard that raises leaks no personal data: not in any log line (whatever the host's
logging configuration, at DEBUG), not in the refusal, not in its traceback.

The guard below fails the way real code does: ``date.fromisoformat(contact.name)`` raises
a ``ValueError`` whose message holds the name, and its frame's locals hold the e-mail and
the phone. Only the guard's name and the exception's type may come out.
"""

from __future__ import annotations

import io
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import structlog
from pydantic import BaseModel, ConfigDict

from engine import (
    Actor,
    Engine,
    GuardContext,
    GuardRejected,
    GuardResult,
    PersonalStr,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from engine.definition.model import Guard

SECRETS = ("Zyxwoq Privatename", "zyxwoq.secret@private-mail.example", "+855 97 531 864")
MARKERS = ("zyxwoq", "privatename", "private-mail", "97 531 864")


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: PersonalStr
    email: PersonalStr
    phone: PersonalStr


class Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    contact: Contact


def starts_on_time(ctx: GuardContext) -> GuardResult:
    contact = ctx.payload.contact  # type: ignore[attr-defined]
    email, phone = contact.email, contact.phone  # locals holding personal data
    started = date.fromisoformat(contact.name)  # ValueError: "...: 'Zyxwoq Privatename'"
    return GuardResult.passed(started=str(started), email=email, phone=phone)


def crashing_definition() -> WorkflowDefinition:
    return WorkflowDefinition(
        name="crashing",
        version=1,
        roles=("requester",),
        states=(StateDef(name="open"), StateDef(name="done", final=True)),
        transitions=(
            TransitionDef(
                trigger="submit",
                dest="open",
                roles=("requester",),
                payload=Request,
                guards=("starts_on_time",),
            ),
            TransitionDef(trigger="close", source=("open",), dest="done", roles=("requester",)),
        ),
        guards=(Guard("starts_on_time", starts_on_time),),
    )


PAYLOAD = {"contact": dict(zip(("name", "email", "phone"), SECRETS, strict=True))}


class _Records(logging.Handler):
    """Every stdlib record, formatted as a host's handler would (with any traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(vars(record)))


def _json_exc_info(out: io.StringIO) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.PrintLoggerFactory(file=out),
    )


def _dict_tracebacks(out: io.StringIO) -> None:
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.PrintLoggerFactory(file=out),
    )


def _structlog_to_stdlib(_out: io.StringIO) -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
    )


def _stdlib_only(_out: io.StringIO) -> None:
    structlog.reset_defaults()  # the host configured the standard library only


CONFIGURATIONS: dict[str, Callable[[io.StringIO], None]] = {
    "structlog-json-format_exc_info": _json_exc_info,
    "structlog-dict_tracebacks": _dict_tracebacks,
    "structlog-stdlib-LoggerFactory": _structlog_to_stdlib,
    "stdlib-logging-only": _stdlib_only,
}


@pytest.fixture(params=sorted(CONFIGURATIONS))
def captured(request: pytest.FixtureRequest) -> Iterator[tuple[io.StringIO, _Records]]:
    """The host's logging set up at DEBUG; yields structlog's output and stdlib's records."""
    saved, was_configured = structlog.get_config(), structlog.is_configured()
    root = logging.getLogger()
    handler, level = _Records(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    out = io.StringIO()
    CONFIGURATIONS[request.param](out)
    try:
        yield out, handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        if was_configured:
            structlog.configure(**saved)
        else:
            structlog.reset_defaults()


def _leaks(text: str) -> list[str]:
    return [m for m in MARKERS if m in text.lower()]


def test_a_crashing_guard_logs_its_name_and_error_type_only(
    captured: tuple[io.StringIO, _Records], capsys: pytest.CaptureFixture[str]
) -> None:
    out, records = captured
    with (
        Engine.open("memory://", workflows=[crashing_definition()], projections=[]) as engine,
        pytest.raises(GuardRejected),
    ):
        engine.start("crashing", PAYLOAD, actor=Actor("r-1", "requester"))
    printed = capsys.readouterr()
    text = "\n".join([out.getvalue(), *records.lines, printed.out, printed.err])
    assert "guard_failed" in text, text  # the failure is logged...
    assert "starts_on_time" in text
    assert "ValueError" in text
    assert _leaks(text) == [], text  # ...without the message, the traceback or locals
    assert "Traceback" not in text
    assert "fromisoformat" not in text


def test_the_refusal_carries_the_error_type_but_no_message_or_traceback() -> None:
    with Engine.open("memory://", workflows=[crashing_definition()], projections=[]) as engine:
        with pytest.raises(GuardRejected) as info:
            engine.start("crashing", PAYLOAD, actor=Actor("r-1", "requester"))
        refusal = info.value
        assert refusal.failures == [
            {
                "name": "starts_on_time",
                "version": 1,
                "ok": False,
                "reason": "guard error: ValueError",
                "inputs": {},
            }
        ]
        # a host that logs the refusal with its traceback finds no chained guard error
        assert refusal.__cause__ is None
        assert refusal.__context__ is None
        rendered = "".join(traceback.format_exception(refusal))
        assert _leaks(rendered + json.dumps(refusal.to_dict())) == []
        assert engine.application.recorder.select_notifications(None, 10) == []


def test_a_guard_returning_junk_is_refused_by_type_name_only() -> None:
    defn = crashing_definition()
    spec: dict[str, Any] = defn.model_dump()
    spec["guards"] = (Guard("starts_on_time", lambda ctx: SECRETS[0]),)  # type: ignore[arg-type,return-value]
    junk = WorkflowDefinition.model_validate(spec)
    with (
        Engine.open("memory://", workflows=[junk], projections=[]) as engine,
        pytest.raises(GuardRejected) as info,
    ):
        engine.start("crashing", PAYLOAD, actor=Actor("r-1", "requester"))
    assert info.value.reasons == ["guard error: TypeError"]
    assert _leaks(str(info.value)) == []
