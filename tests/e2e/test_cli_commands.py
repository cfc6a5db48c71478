"""Every CLI command and option through CliRunner, on a demo portfolio in a SQLite file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from engine import Engine
from tests.e2e.cli_support import as_json, copy_db, ok, run
from workflows.technical_assistance import definition
from workflows.technical_assistance.builders import action_plan_payload, request_payload


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    summary = as_json(f"sqlite:///{path}", "demo", "--requests", "8")
    return path, summary


@pytest.fixture
def demo(demo_file: tuple[Path, dict[str, Any]]) -> str:
    """The shared demo store: for commands that only read."""
    return f"sqlite:///{demo_file[0]}"


@pytest.fixture
def summary(demo_file: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return demo_file[1]


@pytest.fixture
def fresh(demo_file: tuple[Path, dict[str, Any]], tmp_path: Path) -> str:
    """A private copy of the demo store: for commands that write."""
    return copy_db(demo_file[0], tmp_path / "copy.db")


def rows(db: str, *args: str) -> list[dict[str, Any]]:
    return as_json(db, "list", "--limit", "1000", *args)


def first(db: str, state: str) -> str:
    return rows(db, "--state", state)[0]["id"]


def waiting_v1(db: str) -> str:
    """A request submitted once under version 1 and still waiting (the demo keeps one)."""
    for row in rows(db, "--state", "submitted"):
        if row["version"] == 1 and as_json(db, "show", row["id"])["definition_version"] == 1:
            return str(row["id"])
    raise AssertionError("the demo kept no version 1 request in submitted")


# ------------------------------------------------------------------ demo and workflows
def test_demo_prints_a_summary_and_the_next_commands(tmp_path: Path) -> None:
    out = ok(f"sqlite:///{tmp_path / 'd.db'}", "demo", "--requests", "3", "--seed", "2")
    assert "Loaded a demo portfolio" in out
    assert "3 requests" in out
    assert "socieux list" in out
    assert "socieux stats" in out
    again = ok(f"sqlite:///{tmp_path / 'd.db'}", "demo", "--requests", "2")
    # the 3 requests, and the demo's erasure records (one privacy stream per erasure)
    appended = re.search(r"Appended as a new batch: (\d+) instances were already there", again)
    assert appended is not None
    assert 3 <= int(appended.group(1)) <= 5
    assert len(rows(f"sqlite:///{tmp_path / 'd.db'}")) == 5


def test_demo_refuses_a_nonsense_size(tmp_path: Path) -> None:
    assert run(f"sqlite:///{tmp_path / 'd.db'}", "demo", "--requests", "0").exit_code == 2


def test_workflows_list_and_show_in_every_format(demo: str) -> None:
    assert "technical-assistance" in ok(demo, "workflows", "list")
    table = ok(demo, "workflows", "show", "technical-assistance")
    assert "fine_tune" in table
    assert "submitted" in table
    assert "content hash" in table
    assert ok(demo, "workflows", "show", "technical-assistance", "--format", "table") == table
    mermaid = ok(demo, "workflows", "show", "technical-assistance", "--format", "mermaid")
    assert "stateDiagram-v2" in mermaid
    assert "submitted --> fine_tuned: fine_tune" in mermaid
    dot = ok(demo, "workflows", "show", "technical-assistance", "--format", "dot")
    assert dot.startswith('digraph "technical-assistance_v3"')  # the latest version
    assert '"submitted" -> "fine_tuned" [label="fine_tune\\n[socieux_team]"]' in dot
    doc = json.loads(ok(demo, "workflows", "show", "technical-assistance", "--format", "json"))
    assert doc["name"] == "technical-assistance"
    assert {s["name"] for s in doc["states"]} >= {"submitted", "disseminated"}
    assert ok(demo, "workflows", "show", "technical-assistance", "--version", "3") == table
    assert "consulting_delegation" in table
    assert "consulting_delegation" not in ok(
        demo, "workflows", "show", "technical-assistance", "--version", "1"
    )
    assert run(demo, "workflows", "show", "technical-assistance", "--version", "9").exit_code == 5
    assert run(demo, "workflows", "show", "nope").exit_code == 5
    assert run(demo, "workflows", "show", "technical-assistance", "--format", "png").exit_code == 2


# ------------------------------------------------------------------ submit and fire
def test_submit_reads_the_data_from_a_file_or_stdin(fresh: str, tmp_path: Path) -> None:
    data = tmp_path / "request.json"
    data.write_text(json.dumps(request_payload(country="PE", version=2)), encoding="utf-8")
    out = ok(
        fresh,
        "submit",
        "technical-assistance",
        "--as",
        "partner_institution:p-1",
        "--data",
        str(data),
        "--reason",
        "first contact",
    )
    assert "-> submitted (version 1)" in out
    new_id = out.split()[0]
    view = as_json(
        fresh,
        "submit",
        "technical-assistance",
        "--as",
        "eu_delegation:d-1",
        "--data",
        "-",
        input=json.dumps(request_payload(channel="eu_delegation", version=2)),
    )
    assert (view["state"], view["version"], view["data"]["country"]) == ("submitted", 1, "KH")
    history = as_json(fresh, "history", new_id)
    assert (history[0]["actor"], history[0]["role"], history[0]["reason"]) == (
        "p-1",
        "partner_institution",
        "first contact",
    )


def test_fire_moves_the_instance_with_data_reason_and_expected_version(
    fresh: str, tmp_path: Path
) -> None:
    iid = waiting_v1(fresh)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(action_plan_payload()), encoding="utf-8")
    stale = run(
        fresh,
        "fire",
        iid[:8],
        "fine_tune",
        "--as",
        "socieux_team:t-1",
        "--data",
        str(plan),
        "--expected-version",
        "7",
    )
    assert stale.exit_code == 4
    assert stale.stderr.startswith("error[concurrency_conflict]")
    out = ok(
        fresh,
        "fire",
        iid[:8],
        "fine_tune",
        "--as",
        "socieux_team:t-1",
        "--data",
        str(plan),
        "--expected-version",
        "1",
        "--reason",
        "plan agreed",
    )
    assert f"{iid}  fine_tune  -> fine_tuned (version 2)" in out
    view = as_json(fresh, "fire", iid, "reject", "--as", "commission:c-1", "--reason", "no budget")
    assert (view["state"], view["version"]) == ("rejected", 3)
    last = as_json(fresh, "history", iid)[1]
    assert (last["trigger"], last["reason"], last["actor"]) == ("fine_tune", "plan agreed", "t-1")


def test_refused_fires_exit_3_and_write_nothing(fresh: str) -> None:
    iid = waiting_v1(fresh)
    cases = [
        (["approve", "--as", "commission:c-1"], "transition_not_allowed"),
        (["fine_tune", "--as", "partner_institution:p-1"], "permission_denied"),
        (["fine_tune", "--as", "socieux_team:t-1", "--data", "-"], "guard_rejected"),
    ]
    for args, code in cases:
        result = run(fresh, "fire", iid, *args, input="{}")
        assert result.exit_code == 3, result.stderr
        assert result.stderr.startswith(f"error[{code}]: ")
        assert result.stderr.count("\n") == 1
        assert result.stdout == ""
    assert as_json(fresh, "show", iid)["version"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{broken", "invalid JSON in stdin"),
        ("[1, 2]", "must hold a JSON object, not list"),
    ],
)
def test_bad_input_exits_2_with_one_line(fresh: str, text: str, message: str) -> None:
    iid = waiting_v1(fresh)
    result = run(
        fresh, "fire", iid, "withdraw", "--as", "partner_institution:p", "--data", "-", input=text
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.startswith("error[invalid_argument]")
    missing = run(
        fresh,
        "fire",
        iid,
        "withdraw",
        "--as",
        "partner_institution:p",
        "--data",
        "/no/such/file.json",
    )
    assert missing.exit_code == 2
    assert "cannot read /no/such/file.json" in missing.stderr
    assert run(fresh, "fire", iid, "withdraw", "--as", "nobody").exit_code == 2


# ------------------------------------------------------------------ ids
def test_short_ambiguous_and_unknown_ids(fresh: str) -> None:
    from uuid import UUID

    from workflows.technical_assistance.builders import ACTORS

    with Engine.open(fresh, workflows=[definition()]) as engine:
        for tail in ("1111", "2222"):
            engine.start(
                "technical-assistance",
                request_payload(),
                actor=ACTORS["partner"],
                instance_id=UUID(f"abcd{tail}-0000-4000-8000-000000000000"),
            )
    result = run(fresh, "show", "abcd")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "error[invalid_argument]: id prefix 'abcd' is ambiguous; 2 candidates "
        "(give more characters):"
    )
    assert lines[1:] == [
        "  abcd1111-0000-4000-8000-000000000000",
        "  abcd2222-0000-4000-8000-000000000000",
    ]
    assert as_json(fresh, "show", "abcd2")["id"].startswith("abcd2222")
    assert run(fresh, "show", "ffffffff").exit_code == 5
    short = run(fresh, "history", "ab")
    assert short.exit_code == 5
    assert "at least 4 hex characters" in short.stderr


# ------------------------------------------------------------------ list
def test_list_filters_limit_and_offset(demo: str, summary: dict[str, Any]) -> None:
    everything = rows(demo)
    assert len(everything) == summary["instances"]
    out = ok(demo, "list")
    assert f"1-{summary['instances']} of {summary['instances']} requests" in out
    assert all(r["id"][:8] in out for r in everything)
    for state, n in summary["states"].items():
        assert [r["state"] for r in rows(demo, "--state", state)] == [state] * n
    country = everything[0]["country"]
    assert {r["country"] for r in rows(demo, "--country", country)} == {country}
    assert len(rows(demo, "--country", country)) == sum(r["country"] == country for r in everything)
    region = everything[0]["region"]
    assert len(rows(demo, "--region", region)) == sum(r["region"] == region for r in everything)
    area = everything[0]["areas"][0]
    assert len(rows(demo, "--area", area)) == sum(area in r["areas"] for r in everything)
    overdue = rows(demo, "--overdue")
    assert len(overdue) == summary["overdue"]
    assert all(r["overdue"] for r in overdue)
    assert "OVERDUE" in ok(demo, "list", "--overdue")
    page = rows(demo, "--limit", "2", "--offset", "1")
    assert [r["id"] for r in page] == [r["id"] for r in everything[1:3]]
    assert f"2-3 of {summary['instances']} requests" in ok(
        demo, "list", "--limit", "2", "--offset", "1"
    )
    unknown = run(demo, "list", "--state", "no_such_state")  # checked against the definitions
    assert unknown.exit_code == 2
    assert "unknown state 'no_such_state' (valid: approved," in unknown.stderr
    assert run(demo, "list", "--limit", "0").exit_code == 2


# ------------------------------------------------------------------ show, history, next
def test_show_presents_state_facts_stages_next_and_warnings(demo: str) -> None:
    iid = waiting_v1(demo)
    out = ok(demo, "show", iid[:6])
    assert iid in out
    assert "submitted" in out
    assert "The request is with the SOCIEUX+ team." in out
    assert "⚠ overdue:" in out
    assert "SLA 30 days" in out
    assert "institution" in out
    assert " · public_authority · " in out  # type and level
    assert "stage timeline" in out
    assert "what may happen next" in out
    assert "fine_tune" in out
    assert "socieux_team" in out
    done = first(demo, "disseminated")
    out = ok(demo, "show", done)
    assert "approval ref." in out
    assert "action code" in out
    assert "expert-days" in out
    assert "final state: nothing more can happen" in out
    assert "(final)" in out


def test_show_travels_in_time_by_version_and_date(demo: str) -> None:
    done = first(demo, "disseminated")
    history = as_json(demo, "history", done)
    at_v2 = as_json(demo, "show", done, "--version", "2")
    assert (at_v2["version"], at_v2["state"]) == (2, history[1]["dest"])
    assert at_v2["measured_at"] == history[2]["at"]  # measured when v3 was recorded
    assert "version 2" in ok(demo, "show", done, "--version", "2")
    moment = history[3]["at"]
    then = as_json(demo, "show", done, "--as-of", moment)
    assert (then["version"], then["state"]) == (4, history[3]["dest"])
    assert run(demo, "show", done, "--as-of", "yesterday").exit_code == 2
    assert run(demo, "show", done, "--as-of", "2000-01-01").exit_code == 5  # before it existed
    assert run(demo, "show", done, "--version", "999").exit_code == 5
    both = run(demo, "show", done, "--version", "1", "--as-of", moment)
    assert both.exit_code == 2
    assert "not both" in both.stderr


def test_history_is_a_readable_timeline(demo: str) -> None:
    done = first(demo, "disseminated")
    entries = as_json(demo, "history", done)
    out = ok(demo, "history", done[:8])
    assert f"{len(entries)} events" in out
    for e in entries:
        assert f"by {e['actor']} as {e['role']}" in out
        assert f"{e['source'] or '(start)'} -> {e['dest']}" in out
    assert "guards: request_eligible ✓" in out


def test_next_with_and_without_an_actor(demo: str) -> None:
    iid = waiting_v1(demo)
    out = ok(demo, "next", iid)
    assert "as partner_institution (anyone) in state submitted" in out
    assert "as socieux_team (anyone)" in out
    assert "guard_rejected" in out
    assert "nothing to do now for: eu_delegation, commission" in out
    mine = ok(demo, "next", iid, "--as", "commission:c-9")
    assert "permission_denied" in mine
    assert "as commission (c-9)" in mine
    reports = as_json(demo, "next", iid, "--as", "partner_institution:p-1")
    assert len(reports) == 1
    assert reports[0]["allowed"] == ["withdraw"]
    done = ok(demo, "next", first(demo, "disseminated"))
    assert "nothing to do now for:" in done


# ------------------------------------------------------------------ stats and projections
def test_stats_draws_bar_charts(demo: str, summary: dict[str, Any]) -> None:
    out = ok(demo, "stats")
    assert f"{summary['instances']} requests in {summary['countries']} countries" in out
    for title in ("by state", "by area", "by region", "by year submitted", "time in stage"):
        assert title in out
    for state, n in summary["states"].items():
        assert any(line.split()[:2] == [state, str(n)] and "█" in line for line in out.splitlines())
    assert "funnel: submitted" in out


def test_projections_status_and_rebuild(fresh: str, summary: dict[str, Any]) -> None:
    out = ok(fresh, "projections", "status")
    assert "requests" in out
    assert "current" in out
    assert "mode: catchup" in out
    rebuilt = ok(fresh, "projections", "rebuild")
    assert rebuilt.strip() == (
        "rebuilt requests, audit_trail, portfolio, experts from "
        f"{summary['events'] + summary['privacy']['events']} events"
    )
    assert ok(fresh, "projections", "rebuild", "portfolio").startswith("rebuilt portfolio from")
    assert run(fresh, "projections", "rebuild", "nope").exit_code == 2
    assert len(rows(fresh)) == summary["instances"]


# ------------------------------------------------------------------ global options
def test_db_from_the_environment_and_log_formats(fresh: str) -> None:
    by_env = run(None, "--json", "list", env={"SOCIEUX_DB": fresh})
    assert by_env.exit_code == 0
    assert len(json.loads(by_env.stdout)) >= 1
    iid = waiting_v1(fresh)
    logged = run(
        fresh,
        "--log-format",
        "json",
        "fire",
        iid,
        "withdraw",
        "--as",
        "partner_institution:p-1",
        "--reason",
        "no longer needed",
    )
    assert logged.exit_code == 0
    events = [json.loads(line) for line in logged.stderr.splitlines()]
    assert {"event": "command_recorded", "level": "info", "trigger": "withdraw"}.items() <= events[
        -1
    ].items()
    quiet = run(fresh, "--log-format", "text", "history", iid)
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert run(fresh, "--log-format", "xml", "list").exit_code == 2


def test_help_lists_every_command() -> None:
    out = ok(None, "--help")
    for command in (
        "demo",
        "workflows",
        "submit",
        "fire",
        "list",
        "show",
        "history",
        "next",
        "stats",
        "projections",
    ):
        assert command in out


def test_key_facts_fall_back_to_scalar_fields_for_other_workflows() -> None:
    from engine.cli.render import key_facts
    from workflows.technical_assistance.display import DISPLAY

    assert key_facts({"amount": 10, "notes": ["a"], "owner": "kim"}) == [
        ("amount", "10"),
        ("owner", "kim"),
    ]
    assert key_facts({"amount": 10, "owner": "kim"}, DISPLAY) == [  # none of its labels
        ("amount", "10"),
        ("owner", "kim"),
    ]
    assert key_facts({"institution": "NSPC", "experts": [{"days": 3}, {"days": 4}]}, DISPLAY) == [
        ("institution", "NSPC"),
        ("experts", "2 (7 expert-days)"),
    ]


def test_key_facts_follow_the_workflow_display_spec() -> None:
    from engine.cli.render import key_facts
    from engine.definition.model import DisplayFact, DisplaySpec

    spec = DisplaySpec(
        facts=(
            DisplayFact(
                key="owner", label="owned by", kind="record", parts=("name", "team"), aside="id"
            ),
            DisplayFact(key="tags"),
            DisplayFact(key="lines", kind="count", total="qty"),
            DisplayFact(key="items", kind="count", total="qty", unit="units"),
            DisplayFact(key="missing"),
        )
    )
    data = {
        "owner": {"name": "Kim", "id": "k-1", "team": ""},
        "tags": ["a", "b"],
        "lines": [{"qty": 2}, {"qty": 3}],
        "items": [{"qty": 1}, {"other": 1}],
        "amount": 10,
    }
    assert key_facts(data, spec) == [
        ("owned by", "Kim (k-1)"),
        ("tags", "a, b"),
        ("lines", "2 (5)"),
        ("items", "2"),
    ]
    assert key_facts(data) == [("amount", "10")]


def test_the_definition_display_labels_stay_out_of_the_content_hash() -> None:
    from engine.definition.content import content_hash, to_dict
    from engine.definition.model import DisplaySpec
    from workflows.technical_assistance import definition

    labelled = definition()
    bare = labelled.model_copy(update={"display": DisplaySpec()})
    assert labelled.display.facts
    assert "display" not in to_dict(labelled)
    assert content_hash(labelled) == content_hash(bare)
