"""Security basics: roles and separation of duties cannot be bypassed, filters are
injection-proof, and personal data never reaches the logs.

- Every trigger x every role (and look-alike roles) at every state of the main path: a
  role the definition does not declare (a look-alike) is always ``invalid_argument``
  listing the known roles, a declared role outside the transition's roles always
  ``permission_denied`` (rule ``role``), a trigger the state does not offer always
  ``transition_not_allowed``, and nothing is written. The approver may not be whoever
  submitted, resubmitted or fine-tuned, whatever role that actor claims now (DOMAIN.md;
  ``separation`` in workflow.py).
- SQL metacharacters in every filter of ``socieux list`` and of the façade's read models
  match nothing (or exactly the row they name), and leave every table intact.
- Distinctive personal values (``PersonalStr`` fields: contact name, e-mail, phone, expert
  names) never appear in any log line: structlog, the standard ``logging`` module, and the
  CLI's stderr with ``--log-format json`` and ``text``, for accepted and refused commands.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from engine import Actor, Engine, EngineError, InvalidPayload, PermissionDenied
from tests.e2e.cli_support import run
from tests.helpers import event_count
from tests.reliability._fuzz_support import TABLE, valid_payload
from tests.reliability.conftest import Figures
from workflows.technical_assistance import NAME, ROLES, definition, definitions
from workflows.technical_assistance.builders import (
    ACTORS,
    action_plan_payload,
    approval_payload,
    mobilisation_payload,
    opinion_payload,
    request_payload,
    walk_to,
)

DEFN = definition()
TRIGGERS = sorted({t.trigger for t in DEFN.transitions})
MAIN_PATH = [
    "submitted",
    "revision_requested",
    "fine_tuned",
    "approved",
    "mobilised",
    "implemented",
    "evaluated",
    "disseminated",
    "rejected",
    "withdrawn",
    "cancelled",
]
LOOK_ALIKES = [
    "Commission",
    "commission ",
    " socieux_team",
    "SOCIEUX_TEAM",
    "admin",
    "root",
    "*",
    "",
    "auditor",
]


# ------------------------------------------------------------------ roles
def test_no_role_fires_a_trigger_outside_its_roles_at_any_state(figures: Figures) -> None:
    tried = refused_role = refused_state = refused_unknown = allowed = 0
    with Engine.open("memory://", workflows=[DEFN]) as engine:
        for state in MAIN_PATH:
            view = walk_to(engine, state)
            before = event_count(engine)
            for trigger in TRIGGERS:
                key = next((k for k in TABLE if k[0] == state and k[1] == trigger), None)
                for role in [*ROLES, *(r for r in LOOK_ALIKES if r)]:
                    actor = Actor(f"probe-{len(role)}", role)
                    tried += 1
                    if key is not None and role in TABLE[key]:
                        allowed += 1  # a legitimate pair: not part of this test's refusals
                        continue
                    data = valid_payload(trigger, view.data, 0)
                    with pytest.raises(EngineError) as info:
                        engine.fire(view.id, trigger, data, actor=actor, reason="probe")
                    if role not in ROLES:  # a look-alike: a bad call, whatever the state
                        assert info.value.code == "invalid_argument", (state, trigger, role)
                        assert "known roles: " in info.value.message
                        refused_unknown += 1
                    elif key is None:
                        assert info.value.code == "transition_not_allowed", (state, trigger)
                        refused_state += 1
                    else:
                        assert isinstance(info.value, PermissionDenied), (state, trigger, role)
                        assert info.value.rule == "role"
                        refused_role += 1
            assert event_count(engine) == before, state
            report = {
                r for role in ROLES for r in engine.allowed(view.id, Actor("probe", role)).allowed
            }
            legit = {k[1] for k in TABLE if k[0] == state}
            assert report <= legit
    figures.record(
        fuzzed=tried,
        accepted=0,
        refused_permission_denied=refused_role,
        refused_transition_not_allowed=refused_state,
        refused_invalid_argument=refused_unknown,
        legitimate_pairs=allowed,
    )


@pytest.mark.parametrize("earlier", ["submit", "fine_tune", "resubmit"])
def test_separation_of_duties_holds_whatever_role_the_actor_claims(
    earlier: str,
    figures: Figures,
) -> None:
    """The one who submitted, resubmitted or fine-tuned may not approve, even as
    ``commission`` (or as any other role that claims the trigger)."""
    me = {
        "submit": ACTORS["partner"],
        "resubmit": ACTORS["delegation"],
        "fine_tune": ACTORS["team"],
    }[earlier]
    with Engine.open("memory://", workflows=[DEFN]) as engine:
        view = engine.start(NAME, request_payload(), actor=ACTORS["partner"])
        if earlier == "resubmit":
            view = engine.fire(
                view.id, "return_for_revision", actor=ACTORS["team"], reason="narrow it down"
            )
            view = engine.fire(view.id, "resubmit", request_payload(), actor=me)
        view = engine.fire(
            view.id, "fine_tune", valid_payload("fine_tune", view.data, 0), actor=ACTORS["team"]
        )
        before = event_count(engine)
        attempts = 0
        for role in ("commission", *ROLES):
            attempts += 1
            with pytest.raises(PermissionDenied) as info:
                engine.fire(
                    view.id,
                    "approve",
                    valid_payload("approve", view.data, 0),
                    actor=Actor(me.id, role),
                )
            expected = "separation" if role == "commission" else "role"
            assert info.value.rule == expected, (role, info.value)
            verdict = engine.allowed(view.id, Actor(me.id, role))
            assert "approve" not in verdict.allowed
        assert event_count(engine) == before
        # someone else in the commission may approve: the rule is about people, not roles
        engine.fire(
            view.id,
            "approve",
            valid_payload("approve", view.data, 0),
            actor=Actor("dg-intpa-2", "commission"),
        )
    figures.record(fuzzed=attempts + 1, accepted=1, refused_separation=1, refused_role=attempts - 1)


def test_separation_of_duties_holds_through_the_cli(tmp_path: Path, figures: Figures) -> None:
    db = f"sqlite:///{tmp_path / 'sod.db'}"
    with Engine.open(db, workflows=[DEFN]) as engine:
        view = walk_to(engine, "fine_tuned")
    data = tmp_path / "approval.json"
    data.write_text(json.dumps(valid_payload("approve", {}, 0)), encoding="utf-8")
    for who in (ACTORS["partner"].id, ACTORS["team"].id):
        result = run(
            db, "fire", str(view.id), "approve", "--as", f"commission:{who}", "--data", str(data)
        )
        assert result.exit_code == 3, result.stderr
        assert result.stderr.startswith("error[permission_denied]: ")
        assert "separation of duties" in result.stderr
    with Engine.open(db, workflows=[DEFN]) as engine:
        assert engine.get(view.id).version == view.version
    figures.record(fuzzed=2, accepted=0, refused_separation=2)


# ------------------------------------------------------------------ injection
INJECTIONS = [
    "'",
    '"',
    ";",
    "--",
    "%",
    "_",
    "' OR 1=1 --",
    "' OR '1'='1",
    "KH' --",
    "KH%",
    "K_",
    "%%",
    "*",
    "submitted' OR state IS NOT NULL --",
    "x'); DROP TABLE stored_events; --",
    'x"); DROP TABLE req_requests; --',
    "1; DELETE FROM req_requests",
    "\\",
    "sp.%",
    "' UNION SELECT * FROM aud_events --",
]
LIST_FILTERS = {
    "--state": "submitted",
    "--country": "KH",
    "--area": "sp.financing",
    "--region": None,
}


def _tables(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


@pytest.fixture
def portfolio(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "portfolio.db"
    with Engine.open(f"sqlite:///{path}", workflows=definitions()) as engine:  # as the CLI
        for state in ("submitted", "fine_tuned", "approved", "rejected"):
            walk_to(engine, state)
        walk_to(engine, "submitted", data_overrides={"submit": {"country": "PE"}})
        region = engine.requests(country="KH")[0].region
        engine.requests()
    return path, region or ""


def test_sql_metacharacters_in_every_list_filter_match_nothing(
    portfolio: tuple[Path, str],
    figures: Figures,
) -> None:
    path, region = portfolio
    db = f"sqlite:///{path}"
    LIST_FILTERS["--region"] = region
    tables = _tables(path)
    tried = 0
    for option, real in LIST_FILTERS.items():
        exact = json.loads(run(db, "--json", "list", option, str(real)).stdout)
        assert exact, (option, real)
        assert all(r.get(option[2:]) == real or real in r["areas"] for r in exact)
        for text in [*INJECTIONS, *(f"{real}{i}" for i in INJECTIONS)]:
            tried += 1
            result = run(db, "--json", "list", option, text)
            if option in ("--state", "--area"):  # known values: an unknown one is refused, listed
                assert result.exit_code == 2, (option, text, result.stderr)
                assert json.loads(result.stderr)["error"]["code"] == "invalid_argument"
                continue
            assert result.exit_code == 0, (option, text, result.stderr)
            assert json.loads(result.stdout) == [], (option, text)
            if text in INJECTIONS[:4]:  # the table output takes the same query path
                plain = run(db, "list", option, text)
                assert plain.exit_code == 0
                assert "0 of 0 requests" in plain.stdout
    for option in ("--limit", "--offset"):
        for text in INJECTIONS[:6]:
            tried += 1
            assert run(db, "list", option, text).exit_code == 2  # not a number: usage
    for command in ("show", "history", "next"):
        for text in INJECTIONS:
            tried += 1
            result = run(db, command, text)
            assert result.exit_code in (2, 5), (command, text, result.stderr)
            assert "Traceback" not in result.stderr
    assert _tables(path) == tables
    figures.record(fuzzed=tried, accepted=0, tables_intact=True, filters=len(LIST_FILTERS) + 2)


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_sql_metacharacters_in_facade_filters_match_nothing(
    store_url: str,
    figures: Figures,
) -> None:
    tried = 0
    with Engine.open(store_url, workflows=[DEFN]) as engine:
        view = walk_to(engine, "mobilised")
        walk_to(engine, "submitted", data_overrides={"submit": {"country": "PE"}})
        real = {
            "state": "mobilised",
            "country": "KH",
            "area": "sp.financing",
            "workflow": NAME,
            "institution_type": "public_authority",
        }
        total = len(engine.requests())
        for key, value in real.items():
            assert engine.requests(**{key: value}), key
            for text in [*INJECTIONS, *(f"{value}{i}" for i in INJECTIONS)]:
                tried += 1
                assert engine.requests(**{key: text}) == [], (key, text)
                assert engine.projection("requests").count(**{key: text}) == 0
        for key, value in {
            "actor": ACTORS["team"].id,
            "role": "socieux_team",
            "trigger": "fine_tune",
            "instance": str(view.id),
        }.items():
            assert engine.audit_trail(**{key: value}), key
            for text in INJECTIONS:
                tried += 1
                assert engine.audit_trail(**{key: text}) == [], (key, text)
        expert = mobilisation_payload()["experts"][0]["id"]
        assert [e.expert_id for e in engine.experts(expert=expert)] == [expert]
        for text in INJECTIONS:
            tried += 1
            assert engine.experts(expert=text) == []
        assert len(engine.requests()) == total
        assert engine.verify().ok
        assert len(engine.history(view.id)) == view.version
    figures.record(fuzzed=tried, accepted=0, tables_intact=True)


# ------------------------------------------------------------------ personal data
SECRETS = {
    "contact_name": "Zyxwoq Privatename",
    "email": "zyxwoq.secret@private-mail.example",
    "phone": "+855 97 531 864",
    "expert_name": "Qwxyzt Expertsurname",
}
MARKERS = [
    "Zyxwoq",
    "Privatename",
    "zyxwoq.secret",
    "private-mail",
    "97 531 864",
    "Qwxyzt",
    "Expertsurname",
]


def _request(version: int = 1) -> dict[str, Any]:
    payload = request_payload(version=version)
    payload["contact"] = {
        "name": SECRETS["contact_name"],
        "email": SECRETS["email"],
        "phone": SECRETS["phone"],
        "position": "Director",
    }
    return payload


def _experts(activities: list[dict[str, Any]], version: int = 1) -> dict[str, Any]:
    payload = mobilisation_payload(activities, version=version)
    for e in payload["experts"]:
        e["name"] = SECRETS["expert_name"]
    return payload


def _leaks(text: str) -> list[str]:
    return [m for m in MARKERS if m.lower() in text.lower()]


def test_personal_data_never_reaches_the_engine_logs(
    caplog: pytest.LogCaptureFixture,
    figures: Figures,
) -> None:
    caplog.set_level(logging.DEBUG)
    commands = 0
    with capture_logs() as logs, Engine.open("memory://", workflows=[DEFN]) as engine:
        view = engine.start(NAME, _request(), actor=ACTORS["partner"], correlation_id="c-1")
        commands += 1
        refusals: list[dict[str, Any]] = [
            {**_request(), "contact": {**_request()["contact"], "email": "Zyxwoq not a mail"}},
            {**_request(), "contact": {**_request()["contact"], "phone": "Zyxwoq 555"}},
            {
                **_request(),
                "contact": {"name": SECRETS["contact_name"] * 20, "email": SECRETS["email"]},
            },
            {**_request(), "country": "Zyxwoq", "unexpected": SECRETS["email"]},
            {**_request(), "institution": {"name": "x", "type": "ngo", "level": "national"}},
        ]
        for bad in refusals:
            commands += 1
            with pytest.raises(EngineError) as info:
                engine.start(NAME, bad, actor=ACTORS["partner"])
            assert _leaks(str(info.value)) == [], info.value  # error messages too
            assert _leaks(json.dumps(info.value.to_dict(), default=str)) == []
        view = engine.fire(
            view.id, "fine_tune", valid_payload("fine_tune", view.data, 0), actor=ACTORS["team"]
        )
        view = engine.fire(
            view.id, "approve", valid_payload("approve", view.data, 0), actor=ACTORS["commission"]
        )
        conflicted = _experts(view.data["activities"])
        conflicted["experts"][0]["employer"] = view.data["institution"]["name"]
        with pytest.raises(EngineError) as info:
            engine.fire(view.id, "mobilise", conflicted, actor=ACTORS["team"])
        assert info.value.code == "guard_rejected"
        assert _leaks(str(info.value)) == []
        bad_expert = _experts(view.data["activities"])
        bad_expert["experts"][0]["name"] = ""
        with pytest.raises(InvalidPayload) as bad:
            engine.fire(view.id, "mobilise", bad_expert, actor=ACTORS["team"])
        assert _leaks(str(bad.value)) == []
        engine.fire(view.id, "mobilise", _experts(view.data["activities"]), actor=ACTORS["team"])
        commands += 5
        history = engine.history(view.id)
        assert SECRETS["email"] in json.dumps([h.payload for h in history])  # it is stored
    text = repr(logs) + caplog.text
    assert logs, "commands log something"
    assert _leaks(text) == [], _leaks(text)
    figures.record(
        fuzzed=commands, log_records=len(logs) + len(caplog.records), personal_values_in_logs=0
    )


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_personal_data_never_reaches_the_cli_logs(
    log_format: str,
    tmp_path: Path,
    figures: Figures,
) -> None:
    db = f"sqlite:///{tmp_path / 'pd.db'}"
    opts = ["--log-format", log_format]
    stderr: list[str] = []

    def cli(*args: str, data: Any = None, code: int | None = 0) -> Any:
        stdin = json.dumps(data) if data is not None else None
        extra = ["--data", "-"] if data is not None else []
        result = run(db, *opts, "--json", *args, *extra, input=stdin)
        stderr.append(result.stderr)
        if code is not None:
            assert result.exit_code == code, (args, result.stderr)
        return json.loads(result.stdout) if result.exit_code == 0 and result.stdout else None

    partner = "--as", "partner_institution:kh-nspc-1"
    team = "--as", "socieux_team:team-1"
    view = cli("submit", NAME, *partner, data=_request(2))  # the latest version: 2
    iid = view["id"]
    cli(
        "submit",
        NAME,
        *partner,
        data={
            **_request(2),
            "contact": {"name": SECRETS["contact_name"], "email": "Zyxwoq no mail"},
        },
        code=2,
    )
    cli("submit", NAME, *partner, data={**_request(2), "country": "ZZ"}, code=3)
    cli("fire", iid, "request_opinion", *team)
    cli("fire", iid, "give_opinion", "--as", "eu_delegation:eud-1", data=opinion_payload())
    view = cli("fire", iid, "fine_tune", *team, data=action_plan_payload(version=2))
    view = cli("fire", iid, "approve", "--as", "commission:dg-1", data=approval_payload())
    conflicted = _experts(view["data"]["activities"], version=2)
    conflicted["experts"][0]["employer_id"] = view["data"]["institution"]["id"]
    cli("fire", iid, "mobilise", *team, data=conflicted, code=3)
    cli("fire", iid, "mobilise", *team, data=_experts(view["data"]["activities"], version=2))
    for args in (
        ("show", iid),
        ("history", iid),
        ("next", iid),
        ("list",),
        ("stats",),
        ("audit", "verify"),
        ("projections", "status"),
    ):
        cli(*args, code=None)
    text = "".join(stderr)
    if log_format == "json":
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        assert any(e.get("event") == "command_recorded" for e in lines)
    assert _leaks(text) == [], text
    figures.record(fuzzed=len(stderr), stderr_bytes=len(text), personal_values_in_logs=0)


def test_a_crashing_guard_logs_no_payload_in_the_cli_log_format(
    figures: Figures,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A guard that raises is logged with its traceback (``guard_failed``); the CLI's
    renderers must not print the guard's locals, which hold the payload."""
    from engine import GuardResult, WorkflowDefinition
    from engine.cli.app import LogFormat, configure_logging
    from engine.definition.model import Guard

    def explode(ctx: Any) -> GuardResult:
        contact = ctx.payload.contact  # a local holding personal data
        raise RuntimeError(f"boom {len(contact.name)}")

    spec = DEFN.model_dump()
    spec["name"] = "ta-crashing-guard"
    spec["guards"] = tuple(
        Guard("request_complete", explode) if g.name == "request_complete" else g
        for g in DEFN.guards
    )
    crashing = WorkflowDefinition.model_validate(spec)
    for fmt in (LogFormat.text, LogFormat.json):
        configure_logging(fmt)
        with (
            Engine.open("memory://", workflows=[crashing]) as engine,
            pytest.raises(EngineError) as info,
        ):
            engine.start(crashing.name, _request(), actor=ACTORS["partner"])
        assert info.value.code == "guard_rejected"
        err = capsys.readouterr().err
        assert "guard_failed" in err
        assert _leaks(err) == [], (fmt, err)
    figures.record(fuzzed=2, personal_values_in_logs=0)
