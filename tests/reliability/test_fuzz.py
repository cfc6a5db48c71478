"""Fuzzed input: thousands of hostile commands against the façade and the CLI.

Each Hypothesis example sends a list of commands (so the totals add up quickly) with
random triggers, roles, actor ids, payloads (wrong types, missing fields, huge strings,
lone surrogates, NUL, nested JSON 3,000 levels deep, 2**64, nan, inf), instance ids
(uuids, prefixes, garbage) and expected versions (negative, huge, stale). About half
the commands are aimed at a trigger the instance's state allows, by a role allowed to fire
it, so the write path is exercised as much as the refusals.

Checked for every command: the façade raises nothing but a typed ``EngineError`` subclass
with a known code; the CLI exits only with a documented exit code, prints one
``error[CODE]`` line whose code matches that exit code, and never a traceback; the store
grows by exactly one event per accepted command and by none otherwise.

``tests/property/test_ta_fuzz.py`` checks that accepted commands follow the definition's
table; this file checks the boundary: what comes back, and what gets written.
"""

from __future__ import annotations

import json
import logging
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import structlog
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning

from engine import Actor, Engine, EngineError, InvalidArgument
from tests.e2e.cli_support import run
from tests.helpers import event_count
from tests.reliability._fuzz_support import (
    BY_ROLE,
    DOCUMENTED_EXIT,
    ROLE_CHOICES,
    TRIGGERS,
    Tally,
    aimed,
    deep_json,
    hostile,
    hostile_text,
    mangle,
    sqlite_event_count,
    valid_payload,
)
from tests.reliability.conftest import Figures, scale
from workflows.technical_assistance import NAME, definition
from workflows.technical_assistance.builders import ACTORS, PATHS, walk_to

DEFN = definition()
KNOWN_CODES = set(DOCUMENTED_EXIT)
PER_EXAMPLE = 40
FACADE_COMMANDS = scale(1_200, 10_000)
CLI_PER_EXAMPLE = 25
CLI_COMMANDS = scale(300, 2_000)
FACADE = Tally()
CLI = Tally()

# ------------------------------------------------------------------ commands
PAYLOAD_KINDS = [
    "valid",
    "valid",
    "valid",
    "missing",
    "broken",
    "broken",
    "huge",
    "hostile",
    "deep",
    "none",
    "not_mapping",
]
TARGET_KINDS = ["uuid", "uuid", "str", "prefix", "upper", "random", "garbage", "start"]
EXPECTED_KINDS = [None, None, None, "current", "stale", "negative", "zero", "huge"]

command = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["fire", "fire", "fire", "start", "read"]),
        "aim": st.sampled_from([True, True, False]),
        "choice": st.integers(0, 2**16),
        "target": st.sampled_from(TARGET_KINDS),
        "slot": st.integers(0, 9),
        "trigger": st.sampled_from(TRIGGERS) | hostile_text,
        "actor_id": st.sampled_from([a.id for a in ACTORS.values()]) | hostile_text,
        "role": st.sampled_from(ROLE_CHOICES) | hostile_text,
        "payload": st.sampled_from(PAYLOAD_KINDS),
        "value": hostile,
        "pick": st.integers(0, 200),
        "reason": st.none() | st.just("fuzzing") | hostile_text,
        "expected": st.sampled_from(EXPECTED_KINDS),
        "correlation": st.none() | hostile_text,
    }
)
states = st.lists(st.sampled_from(sorted(PATHS)), min_size=1, max_size=3)


def _actor(cmd: dict[str, Any]) -> Actor:
    """The command's actor; ids and roles ``Actor(...)`` itself refuses (``InvalidArgument``:
    empty, too long, lone surrogates, control characters) never reach the engine, so they
    fall back to plain ones."""
    for actor_id, role in (
        (cmd["actor_id"], cmd["role"]),
        ("x-9", cmd["role"]),
        (cmd["actor_id"], "stranger"),
    ):
        try:
            return Actor(actor_id, role)
        except InvalidArgument:
            continue
    return Actor("x-9", "stranger")


def _payload(cmd: dict[str, Any], trigger: str, data: dict[str, Any]) -> Any:
    kind = "valid" if cmd["aim"] and cmd["pick"] % 2 == 0 else cmd["payload"]
    if kind == "none":
        return None
    if kind == "hostile":
        return cmd["value"] if isinstance(cmd["value"], dict) else {"x": cmd["value"]}
    if kind == "deep":
        return deep_json(50 + cmd["pick"] * 15)
    if kind == "not_mapping":
        return [cmd["value"]]
    payload = valid_payload(trigger, data, cmd["pick"]) or {}
    if kind == "valid":
        return payload
    return mangle(payload, kind, cmd["pick"], cmd["value"])


def _target(cmd: dict[str, Any], ids: list[UUID]) -> Any:
    """The instance the command names: as a UUID, a string, a prefix, in upper case (an
    aimed command names its instance in one of these ways), or a random or garbage id."""
    iid = ids[cmd["slot"] % len(ids)]
    kind = cmd["target"]
    if cmd["aim"] and kind in ("random", "garbage"):
        kind = "prefix" if kind == "random" else "str"
    return {
        "uuid": iid,
        "str": str(iid),
        "prefix": str(iid)[:8],
        "upper": str(iid).upper(),
        "random": uuid4(),
        "garbage": cmd["actor_id"],
    }.get(kind, iid)


def _expected(cmd: dict[str, Any], current: int | None) -> int | None:
    kind, now = cmd["expected"], current or 0
    if cmd["aim"] and kind is not None:
        kind = "current" if cmd["pick"] % 3 else kind
    return {
        None: None,
        "current": now,
        "stale": now - 1,
        "negative": -now - 5,
        "zero": 0,
        "huge": 2**64 + now,
    }[kind]


def _read(engine: Engine, cmd: dict[str, Any], target: Any) -> None:
    which = cmd["pick"] % 6
    value = cmd["value"]
    if which == 0:
        engine.get(target, version=value if isinstance(value, int) else cmd["pick"] - 3)
    elif which == 1:
        at = datetime(2000 + cmd["pick"] % 40, 1, 1, tzinfo=UTC if cmd["aim"] else None)
        engine.get(target, as_of=at)
    elif which == 2:
        engine.history(target)
    elif which == 3:
        engine.allowed(target, _actor(cmd))
    else:
        text = value if isinstance(value, str) else cmd["trigger"]
        keys = ["state", "country", "area", "region", "workflow", "institution_type"]
        engine.requests(
            **{keys[cmd["pick"] % len(keys)]: text},
            limit=value if isinstance(value, int) and which == 5 else 10,
        )


def _send(engine: Engine, ids: list[UUID], cmd: dict[str, Any]) -> bool:
    """Send one command; True if it was recorded."""
    target = _target(cmd, ids)
    reason = cmd["reason"]
    correlation = cmd["correlation"]
    if cmd["op"] == "read":
        _read(engine, cmd, target)
        return False
    if cmd["op"] == "start" or cmd["target"] == "start":
        trigger, actor = cmd["trigger"], _actor(cmd)
        if cmd["aim"]:
            trigger, role = aimed(None, cmd["choice"]) or (trigger, actor.role)
            actor = BY_ROLE[role]
        workflow = NAME if cmd["aim"] or cmd["pick"] % 3 else cmd["trigger"]
        view = engine.start(
            workflow,
            _payload(cmd, trigger, {}),
            actor=actor,
            reason=reason,
            trigger=trigger if cmd["pick"] % 2 else None,
            correlation_id=correlation,
        )
        ids.append(view.id)
        return True
    current = engine.get(ids[cmd["slot"] % len(ids)])
    trigger, actor = cmd["trigger"], _actor(cmd)
    if cmd["aim"]:
        choice = aimed(current.state, cmd["choice"])
        if choice is not None:
            trigger, actor = choice[0], BY_ROLE[choice[1]]
            reason = reason or "fuzzing"
    engine.fire(
        target,
        trigger,
        _payload(cmd, trigger, current.data),
        actor=actor,
        reason=reason,
        expected_version=_expected(cmd, current.version),
        correlation_id=correlation,
    )
    return True


def quiet_logs() -> None:
    """Drop the engine's INFO logs (thousands of lines) while fuzzing; conftest resets."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def facade_commands(start_states: list[str], cmds: list[dict[str, Any]]) -> None:
    """Seed instances in ``start_states``, send ``cmds``, check every answer and count."""
    quiet_logs()
    with Engine.open("memory://", workflows=[DEFN]) as engine:
        ids = [walk_to(engine, s).id for s in start_states]
        for cmd in cmds:
            before = event_count(engine)
            FACADE.fuzzed += 1
            code = None
            try:
                recorded = _send(engine, ids, cmd)
            except EngineError as exc:
                code, recorded = (exc.code if type(exc) is not EngineError else "bare"), False
            if code is not None:
                assert code in KNOWN_CODES, (code, cmd)
                FACADE.refused[code] += 1
            FACADE.accepted += recorded
            after = event_count(engine)
            FACADE.lost += max(0, before + recorded - after)
            assert after == before + recorded, (cmd, before, after)
        report = engine.verify()
        assert report.ok, report.problems


NO_SHRINK = (Phase.explicit, Phase.generate)
"""Shrinking lists of 200,000-character commands takes minutes; a failure is reported
as found (the whole failing example is printed), which is enough to reproduce it."""
FACADE_SETTINGS = settings(
    max_examples=max(1, FACADE_COMMANDS // PER_EXAMPLE),
    deadline=None,
    database=None,
    phases=NO_SHRINK,
    report_multiple_bugs=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
facade_examples = given(
    start_states=states, cmds=st.lists(command, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE)
)


def test_the_facade_answers_hostile_commands_with_typed_errors_only(
    figures: Figures,
) -> None:
    with warnings.catch_warnings():  # a failing example's huge repr must not hide it
        warnings.simplefilter("ignore", HypothesisWarning)
        FACADE_SETTINGS(facade_examples(facade_commands))()
    figures.record(**FACADE.figures(), commands_per_example=PER_EXAMPLE)
    assert FACADE.fuzzed >= FACADE_COMMANDS
    assert FACADE.accepted > FACADE.fuzzed // 20, "the fuzzer should reach the write path"
    assert FACADE.lost == 0


def test_a_correlation_id_with_a_lone_surrogate_is_a_typed_refusal(figures: Figures) -> None:
    figures.record(fuzzed=1)
    with Engine.open("memory://", workflows=[DEFN]) as engine:
        view = walk_to(engine, "submitted")
        with pytest.raises(InvalidArgument, match="correlation_id"):
            engine.fire(
                view.id,
                "return_for_revision",
                actor=ACTORS["team"],
                reason="r",
                correlation_id="req-\ud800",
            )
        with pytest.raises(InvalidArgument, match="causation_id"):
            engine.fire(
                view.id,
                "return_for_revision",
                actor=ACTORS["team"],
                reason="r",
                causation_id="a\x00b",
            )
        assert event_count(engine) == 1


# ------------------------------------------------------------------ the CLI
cli_command = st.fixed_dictionaries(
    {
        "op": st.sampled_from(
            ["fire", "fire", "fire", "submit", "show", "history", "next", "list"]
        ),
        "aim": st.sampled_from([True, True, False]),
        "choice": st.integers(0, 2**16),
        "target": st.sampled_from(["str", "str", "prefix", "upper", "random", "garbage"]),
        "slot": st.integers(0, 9),
        "trigger": st.sampled_from(TRIGGERS) | hostile_text,
        "actor_id": st.sampled_from([a.id for a in ACTORS.values()]) | hostile_text,
        "role": st.sampled_from(ROLE_CHOICES) | hostile_text,
        "as_form": st.sampled_from(["ok", "ok", "ok", "nocolon", "empty_role", "empty_id"]),
        "payload": st.sampled_from(PAYLOAD_KINDS),
        "source": st.sampled_from(
            [
                "stdin",
                "stdin",
                "stdin",
                "file",
                "binary",
                "missing",
                "directory",
                "not_json",
                "bytes_stdin",
                "array",
            ]
        ),
        "value": hostile,
        "pick": st.integers(0, 200),
        "reason": st.none() | st.just("fuzzing") | hostile_text,
        "expected": st.sampled_from([*EXPECTED_KINDS, "text"]),
        "json": st.booleans(),
    }
)


def _cli_data(
    cmd: dict[str, Any], trigger: str, data: dict[str, Any], work: Path
) -> tuple[list[str], str | bytes | None]:
    """The ``--data`` option and stdin for a payload (or a broken source)."""
    source = cmd["source"]
    if cmd["aim"] and cmd["pick"] % 2 == 0:
        source = "stdin" if source != "file" else source
    if cmd["payload"] == "deep":
        depth = 50 + cmd["pick"] * 15
        text = '{"a":' * depth + "1" + "}" * depth
    else:
        payload = _payload(cmd, trigger, data)
        text = json.dumps(payload)  # nan and inf become NaN / Infinity, as a user could type
    if cmd["payload"] == "none" and source == "stdin":
        return [], None
    if source == "stdin":
        return ["--data", "-"], text
    if source == "bytes_stdin":
        return ["--data", "-"], b"\xff\xfe{\x00\x80 not utf-8"
    if source == "array":
        return ["--data", "-"], "[1, 2, 3]"
    if source == "not_json":
        return ["--data", "-"], text[: max(1, len(text) // 2)]
    path = work / f"data-{cmd['pick']}.json"
    if source == "file":
        path.write_text(text, encoding="utf-8")
    elif source == "binary":
        path.write_bytes(b"\xff\xd8\xff\xe0 binary \x00\x81\xfe" * 10)
    elif source == "directory":
        path = work
    else:
        path = work / "no-such-file.json"
    return ["--data", str(path)], None


def _as(cmd: dict[str, Any], role: str, actor_id: str) -> str:
    form = "ok" if cmd["aim"] else cmd["as_form"]
    if form == "nocolon":
        return actor_id.replace(":", "")
    if form == "empty_role":
        return f":{actor_id}"
    if form == "empty_id":
        return f"{role}:"
    return f"{role}:{actor_id}"


def _cli_args(
    cmd: dict[str, Any], ids: list[str], work: Path
) -> tuple[list[str], str | bytes | None, bool]:
    """argv, stdin and whether the command may write."""
    iid = ids[cmd["slot"] % len(ids)]
    target = {
        "str": iid,
        "prefix": iid[:8],
        "upper": iid.upper(),
        "random": str(uuid4()),
        "garbage": cmd["actor_id"],
    }[cmd["target"]]
    trigger, role, actor_id = cmd["trigger"], cmd["role"], cmd["actor_id"]
    reason = cmd["reason"]
    op = cmd["op"]
    head = ["--json"] if cmd["json"] else []
    if op in ("show", "history", "next", "list"):
        extra: list[str] = []
        if op == "show" and cmd["pick"] % 3 == 0:
            extra = [
                "--version",
                str(cmd["value"] if isinstance(cmd["value"], int) else cmd["pick"] - 100),
            ]
        elif op == "show" and cmd["pick"] % 3 == 1:
            extra = ["--as-of", str(cmd["value"])]
        elif op == "next" and cmd["aim"]:
            extra = ["--as", _as(cmd, role, actor_id)]
        if op == "list":
            option = ["--state", "--country", "--area", "--region", "--limit", "--offset"][
                cmd["pick"] % 6
            ]
            return [*head, "list", option, str(cmd["value"])], None, False
        return [*head, op, target, *extra], None, False
    state, data, version = _VIEWS[iid]
    head = ["--json"]  # writes answer in JSON, so the fuzzer keeps track of each state
    if op == "submit":
        if cmd["aim"]:
            trigger, role = aimed(None, cmd["choice"]) or (trigger, role)
            actor_id = BY_ROLE[role].id
        data_args, stdin = _cli_data(cmd, "submit", {}, work)
        name = NAME if cmd["aim"] or cmd["pick"] % 3 else trigger
        argv = [*head, "submit", name, "--as", _as(cmd, role, actor_id), *data_args]
    else:
        if cmd["aim"]:
            choice = aimed(state, cmd["choice"])
            if choice is not None:
                trigger, role = choice
                actor_id = BY_ROLE[role].id
                reason = "fuzzing" if cmd["pick"] % 2 == 0 else reason or "fuzzing"
        data_args, stdin = _cli_data(cmd, trigger, data, work)
        argv = [*head, "fire", target, trigger, "--as", _as(cmd, role, actor_id), *data_args]
        expected = _expected(cmd, version) if cmd["expected"] != "text" else "v1"
        if expected is not None:
            argv += ["--expected-version", str(expected)]
    if reason is not None:
        argv += ["--reason", reason]
    return argv, stdin, True


_VIEWS: dict[str, tuple[str, dict[str, Any], int]] = {}
"""The CLI fuzzer's view of each instance: state, data and version."""


def _remember(payload: Any) -> None:
    if isinstance(payload, dict) and "state" in payload and "version" in payload:
        _VIEWS[str(payload["id"])] = (payload["state"], payload["data"], payload["version"])


def _check_cli_result(result: Any, argv: list[str]) -> str | None:
    """Assert the CLI's contract on one result; the refusal code (if any)."""
    out, err = result.stdout, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        argv,
        result.exception,
    )
    assert "Traceback" not in out + err, (argv, err)
    assert result.exit_code in (0, 2, 3, 4, 5), (argv, result.exit_code, err)
    if result.exit_code == 0:
        return None
    assert out == "", (argv, out)
    if err.startswith('{"error"'):  # --json: the error is one line of JSON on stderr
        code = json.loads(err)["error"]["code"]
        assert DOCUMENTED_EXIT.get(code) == result.exit_code, (argv, code, result.exit_code)
        assert len(err.splitlines()) == 1, (argv, err)
        return str(code)
    if err.startswith("error["):
        code = err[len("error[") : err.index("]")]
        assert DOCUMENTED_EXIT.get(code) == result.exit_code, (argv, code, result.exit_code)
        lines = err.splitlines()
        assert len(lines) == 1 or code == "invalid_argument", (argv, err)
        return code
    assert result.exit_code == 2, (argv, err)  # click's own usage errors
    assert "Usage:" in err or "Error:" in err, (argv, err)
    return "usage"


@pytest.fixture
def cli_store(tmp_path: Path) -> tuple[Path, list[str]]:
    """A SQLite store with an instance in every state of the main path and the finals."""
    path = tmp_path / "fuzz.db"
    _VIEWS.clear()
    with Engine.open(f"sqlite:///{path}", workflows=[DEFN]) as engine:
        ids = []
        for state in PATHS:
            view = walk_to(engine, state)
            ids.append(str(view.id))
            _remember(view.model_dump(mode="json"))
    return path, ids


def test_the_cli_exits_with_documented_codes_and_never_a_traceback(
    cli_store: tuple[Path, list[str]],
    tmp_path: Path,
    figures: Figures,
) -> None:
    db_path, ids = cli_store
    db = f"sqlite:///{db_path}"

    @settings(
        max_examples=max(1, CLI_COMMANDS // CLI_PER_EXAMPLE),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=NO_SHRINK,
        report_multiple_bugs=False,
    )
    @given(cmds=st.lists(cli_command, min_size=CLI_PER_EXAMPLE, max_size=CLI_PER_EXAMPLE))
    def example(cmds: list[dict[str, Any]]) -> None:
        for cmd in cmds:
            argv, stdin, writes = _cli_args(cmd, ids, tmp_path)
            before = sqlite_event_count(db_path)
            CLI.fuzzed += 1
            result = run(db, *argv, input=stdin)
            code = _check_cli_result(result, argv)
            recorded = writes and result.exit_code == 0
            if code is not None:
                CLI.refused[code] += 1
            CLI.accepted += recorded
            assert sqlite_event_count(db_path) == before + recorded, (argv, result.stderr)
            if recorded:
                _remember(json.loads(result.stdout))
                if cmd["op"] == "submit":
                    ids.append(json.loads(result.stdout)["id"])

    with warnings.catch_warnings():  # a failing example's huge repr must not hide it
        warnings.simplefilter("ignore", HypothesisWarning)
        example()
    with Engine.open(db, workflows=[DEFN]) as engine:
        assert engine.verify().ok
    figures.record(**CLI.figures(), commands_per_example=CLI_PER_EXAMPLE)
    assert CLI.fuzzed >= CLI_COMMANDS
    assert CLI.accepted > 0


# ------------------------------------------------------------------ regressions
# Each was found by the fuzzers above and fixed at its root (engine/decide.py,
# engine/sql.py, engine/cli/inputs.py); these pin the fixes with one command each.
@pytest.mark.parametrize("reason", ["why\ud800", "why\x00not"])
def test_a_reason_with_a_lone_surrogate_or_nul_is_an_invalid_payload(
    reason: str,
    figures: Figures,
) -> None:
    figures.record(fuzzed=1, accepted=0)
    with Engine.open("memory://", workflows=[DEFN]) as engine:
        view = walk_to(engine, "submitted")
        with pytest.raises(EngineError) as info:
            engine.fire(view.id, "return_for_revision", actor=ACTORS["team"], reason=reason)
        assert info.value.code == "invalid_payload"
        assert info.value.details["errors"][0]["loc"] == ["reason"]
        assert event_count(engine) == 1


def test_a_payload_with_nul_in_a_text_field_is_an_invalid_payload(figures: Figures) -> None:
    """PostgreSQL text columns (the read models) cannot hold NUL: an accepted event with
    one would stop every projection on PostgreSQL for good."""
    figures.record(fuzzed=1, accepted=0)
    payload = valid_payload("submit", {}, 0) or {}
    payload["description"] = "before\x00after"
    with Engine.open("memory://", workflows=[DEFN]) as engine:
        with pytest.raises(EngineError) as info:
            engine.start(NAME, payload, actor=ACTORS["partner"])
        assert info.value.code == "invalid_payload"
        assert ["description"] in [e["loc"] for e in info.value.details["errors"]]
        assert event_count(engine) == 0


def test_request_filters_with_a_lone_surrogate_are_invalid_arguments(
    tmp_path: Path,
    figures: Figures,
) -> None:
    figures.record(fuzzed=2, accepted=0)
    with Engine.open(f"sqlite:///{tmp_path / 's.db'}", workflows=[DEFN]) as engine:
        walk_to(engine, "submitted")
        with pytest.raises(EngineError) as info:
            engine.requests(country="\udcff")
        assert info.value.code == "invalid_argument"
        assert len(engine.requests()) == 1  # the store is still usable
    result = run(f"sqlite:///{tmp_path / 's.db'}", "list", "--state", "\udcff")
    assert (result.exit_code, result.stderr.startswith("error[invalid_argument]")) == (2, True)


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_data_that_is_not_utf8_exits_2_with_one_line(
    source: str,
    tmp_path: Path,
    figures: Figures,
) -> None:
    figures.record(fuzzed=1, accepted=0)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    blob = b"\xff\xfe{\x00\x80 not utf-8"
    path = tmp_path / "payload.json"
    path.write_bytes(blob)
    arg = str(path) if source == "file" else "-"
    result = run(
        db,
        "submit",
        NAME,
        "--as",
        "partner_institution:p-1",
        "--data",
        arg,
        input=blob if source == "stdin" else None,
    )
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error[invalid_argument]: ")
    assert "not UTF-8" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_list_offset_or_limit_beyond_64_bits_is_an_invalid_argument(
    store_url: str,
    figures: Figures,
) -> None:
    figures.record(fuzzed=2, accepted=0)
    with Engine.open(store_url, workflows=[DEFN]) as engine:
        walk_to(engine, "submitted")
        with pytest.raises(EngineError) as info:
            engine.requests(offset=2**63)
        assert info.value.code == "invalid_argument"
        assert len(engine.requests()) == 1
    if store_url.startswith("sqlite"):
        result = run(store_url, "list", "--offset", str(2**63))
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith("error[invalid_argument]: ")
