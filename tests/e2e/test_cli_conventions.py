"""The conventions people expect of a CLI: global flags anywhere, JSON errors, --version,
-h, examples in help, one look, quiet closed pipes, checked filters, --format, new commands."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from engine.cli.console import plural, when
from engine.cli.template import template
from tests.e2e.cli_support import APP, SOCIEUX, as_json, copy_db, ok, process, run


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("conventions") / "demo.db"
    return path, as_json(f"sqlite:///{path}", "demo", "--requests", "8")


@pytest.fixture
def demo(demo_file: tuple[Path, dict[str, Any]]) -> str:
    return f"sqlite:///{demo_file[0]}"


# 1. --json anywhere, JSON errors, --version, -h, examples -----------------------------
def test_json_works_before_or_after_the_command(demo: str) -> None:
    before = ok(demo, "--json", "list", "--limit", "3")
    after = ok(demo, "list", "--limit", "3", "--json")
    assert before == after
    assert len(json.loads(after)) == 3
    assert json.loads(ok(demo, "audit", "seals", "--json")) == []


def test_under_json_errors_are_json_on_stderr_with_the_same_exit_codes(demo: str) -> None:
    missing = run(demo, "show", "ffffffff", "--json")
    assert missing.exit_code == 5
    assert missing.stdout == ""
    error = json.loads(missing.stderr)["error"]
    assert error["code"] == "instance_not_found"
    unknown = run(demo, "list", "--bogus", "--json")
    assert unknown.exit_code == 2
    assert json.loads(unknown.stderr) == {
        "error": {"code": "invalid_argument", "message": "No such option: --bogus"}
    }
    plain = run(demo, "show", "ffffffff")
    assert plain.exit_code == 5
    assert plain.stderr.startswith("error[instance_not_found]: ")


def test_version_prints_the_installed_version() -> None:
    done = process("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"socieux {version('socieux')}\n", "")


def test_h_is_help_and_every_command_has_an_example() -> None:
    import typer

    assert run(None, "-h").stdout == run(None, "--help").stdout
    root = typer.main.get_command(APP)
    paths: list[list[str]] = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        paths += [[name, sub] for sub in subs] if subs else [[name]]
    assert ["audit", "trail"] in paths
    assert ["workflows", "example"] in paths
    for path in paths:
        shown = run(None, *path, "-h")
        assert shown.exit_code == 0, path
        epilog = shown.stdout.rsplit("Example", 1)
        assert len(epilog) == 2, path
        assert "socieux " in epilog[1], path


# 2. one look ------------------------------------------------------------------------
def test_one_time_format_one_arrow_and_plurals() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    assert when(datetime(2024, 1, 2, 9, 0, 0, 123, tzinfo=UTC)) == "2024-01-02T09:00:00+00:00"
    assert when(datetime(2024, 1, 2, 9, 0)) == "2024-01-02T09:00:00+00:00"  # naive: UTC
    tz = timezone(timedelta(hours=2))
    assert when(datetime(2024, 1, 2, 9, 0, tzinfo=tz)) == "2024-01-02T09:00:00+02:00"
    assert (plural(1, "seal"), plural(2, "seal"), plural(0, "event")) == (
        "1 seal",
        "2 seals",
        "0 events",
    )


def test_history_uses_the_one_time_format_and_arrow(demo: str) -> None:
    iid = as_json(demo, "list", "--limit", "1")[0]["id"]
    entries = as_json(demo, "history", iid)
    out = ok(demo, "history", iid)
    first = out.splitlines()[0]
    start = rf"{re.escape(when(_at(entries[0]['at'])))} +v1 submit  \(start\) -> submitted"
    assert re.match(start, first), first  # versions are right-aligned: "v1" to "v12"
    assert "→" not in out
    assert out.rstrip().endswith(plural(len(entries), "event"))


def test_explain_shows_guard_inputs_as_json(demo: str) -> None:
    iid = as_json(demo, "list", "--state", "disseminated", "--limit", "1")[0]["id"]
    tuned = next(e for e in as_json(demo, "history", iid) if e["trigger"] == "fine_tune")
    out = ok(demo, "audit", "explain", iid, str(tuned["version"]))
    assert "+00:00 by " in out
    assert "'" not in out.split("inputs", 1)[1]  # no Python reprs
    assert '=["A1"' in out or '="' in out


def test_piped_output_is_never_wrapped_or_padded(demo: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [SOCIEUX, "--db", f"sqlite:///{tmp_path / 'own.db'}", "demo", "--requests", "1"],
        capture_output=True,
        text=True,
        env=_env_without_columns(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    today = datetime.now(UTC)  # the demo ends at the run's today
    assert done.stdout.splitlines()[0].endswith(f"Jan 2014 to {today:%b %Y}.")  # one line
    listed = subprocess.run(
        [SOCIEUX, "--db", demo, "list"], capture_output=True, text=True,
        env=_env_without_columns(), check=False,
    )  # fmt: skip
    lines = listed.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines)
    assert "…" not in listed.stdout  # titles are not cut to a width


def test_a_closed_pipe_ends_quietly_with_exit_0(demo: str) -> None:
    with subprocess.Popen(
        [SOCIEUX, "--db", demo, "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()  # like `| head -0`: the reader is gone before anything is written
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 0
    assert err == b""
    head = subprocess.run(
        ["bash", "-c", f"{SOCIEUX} --db {demo} --json list --limit 10000 | head -1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (head.stdout, head.stderr) == ("[\n", "")


def test_a_full_stdout_is_still_exit_2(demo: str) -> None:
    with Path("/dev/full").open("w") as full:
        done = subprocess.run(
            [SOCIEUX, "--db", demo, "list"], stdout=full, stderr=subprocess.PIPE, text=True,
            check=False,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == "error[invalid_argument]: cannot write stdout: No space left on device\n"


# 3. checked filters -------------------------------------------------------------------
def test_an_unknown_state_lists_the_valid_ones(demo: str) -> None:
    done = run(demo, "list", "--state", "nope")
    assert done.exit_code == 2
    assert done.stderr == (
        "error[invalid_argument]: --state: unknown state 'nope' (valid: approved, cancelled, "
        "consulting_delegation, disseminated, evaluated, fine_tuned, implemented, mobilised, "
        "rejected, revision_requested, submitted, withdrawn)\n"
    )


def test_countries_are_normalised_and_sort_is_the_order(demo: str) -> None:
    country = as_json(demo, "list", "--limit", "1")[0]["country"]
    assert as_json(demo, "list", "--country", country.lower()) == as_json(
        demo, "list", "--country", country
    )
    by_id = [r["id"] for r in as_json(demo, "list", "--sort", "id")]
    assert by_id == sorted(by_id)
    created = [r["created_at"] for r in as_json(demo, "list", "--sort", "created")]
    assert created == sorted(created, reverse=True)
    bad = run(demo, "list", "--sort", "title")
    assert bad.exit_code == 2
    assert bad.stderr == (
        "error[invalid_argument]: --sort: unknown order 'title' (valid: updated, created, id)\n"
    )


# 4. --format ------------------------------------------------------------------------
def test_list_stats_and_trail_as_csv_and_json(demo: str) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(demo, "list", "--format", "csv"))))
    listed = as_json(demo, "list")
    assert [r["id"] for r in rows] == [r["id"] for r in listed]
    assert rows[0]["areas"] == ";".join(listed[0]["areas"])
    assert json.loads(ok(demo, "list", "--format", "json")) == listed
    stats = list(csv.DictReader(io.StringIO(ok(demo, "stats", "--format", "csv"))))
    assert stats[0] == {"figure": "total", "key": "", "value": "8"}
    trail = list(csv.DictReader(io.StringIO(ok(demo, "audit", "trail", "--format", "csv"))))
    assert len(trail) == len(as_json(demo, "audit", "trail"))


# 5. new commands ----------------------------------------------------------------------
def test_audit_trail_filters_across_instances(demo: str, demo_file: Any) -> None:
    every = as_json(demo, "audit", "trail", "--limit", "100000")
    escalations = len(as_json(demo, "deadlines", "list", "--status", "fired", "--limit", "10000"))
    escalations -= sum(r["trigger"] == "deem_favourable" for r in every)
    done = demo_file[1]["amendments"]  # the read models do not read amendments yet
    amendments = done["corrections"] + done["approved"] + done["evidence"] + done["notes"]
    assert amendments > 0
    # the trail leaves out Escalated and the amendments
    assert len(every) == demo_file[1]["events"] - escalations - amendments
    team = as_json(demo, "audit", "trail", "--role", "socieux_team", "--trigger", "fine_tune")
    assert team
    assert all((r["role"], r["trigger"]) == ("socieux_team", "fine_tune") for r in team)
    one = every[0]["instance_id"]
    mine = as_json(demo, "audit", "trail", "--instance", one[:8])
    assert {r["instance_id"] for r in mine} == {one}
    assert [r["version"] for r in mine] == list(range(1, len(mine) + 1))
    late = as_json(demo, "audit", "trail", "--since", "2025-01-01", "--until", "2025-12-31")
    assert all("2025-01-01" <= r["at"] <= "2025-12-31T23:59:59Z" for r in late)
    table = ok(demo, "audit", "trail", "--limit", "2")
    assert "(start) -> submitted" in table
    assert table.rstrip().endswith("2 events")


def test_hooks_retry_names_an_unknown_subscriber(demo: str) -> None:
    done = run(demo, "hooks", "retry", "nobody")
    assert done.exit_code == 2
    assert done.stderr.startswith("error[invalid_argument]: ")


def test_workflows_example_prints_a_template_for_data(demo: str, tmp_path: Path) -> None:
    sketch = json.loads(ok(demo, "workflows", "example", "technical-assistance", "submit"))
    assert sketch["institution"] == {  # version 2 (the latest) gives the institution an id
        "name": "<Name>",
        "type": "<Type>",
        "level": "<Level>",
        "id": "<Id>",
    }
    assert sketch["desired_start"] == "YYYY-MM-DD"
    assert json.loads(ok(demo, "workflows", "example", "technical-assistance", "reject")) == {}
    bad = run(demo, "workflows", "example", "technical-assistance", "nope")
    assert bad.exit_code == 2
    assert "has no trigger 'nope' (triggers: approve," in bad.stderr


def test_template_placeholders_by_type() -> None:
    schema = {
        "type": "object",
        "required": ["n", "x", "ok", "tags", "kind", "when", "sub"],
        "properties": {
            "n": {"type": "integer", "minimum": 1},
            "x": {"type": "number"},
            "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string", "title": "Tag"}},
            "kind": {"enum": ["a", "b"]},
            "when": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
            "sub": {"$ref": "#/$defs/Sub"},
            "optional": {"type": "string"},
        },
        "$defs": {"Sub": {"type": "object", "required": ["s"], "properties": {"s": {}}}},
    }
    assert template(schema) == {
        "n": 1,
        "x": 0.0,
        "ok": False,
        "tags": ["<Tag>"],
        "kind": "a",
        "when": "YYYY-MM-DDTHH:MM:SS+00:00",
        "sub": {"s": "<s>"},
    }


def test_demo_reset_starts_over_on_sqlite_only(
    demo_file: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    url = copy_db(demo_file[0], tmp_path / "reset.db")
    again = as_json(url, "demo", "--requests", "2", "--reset")
    assert again["existing_before"] == 0
    assert again["instances"] == 2
    for other in ("memory://", "postgresql://u:secret@127.0.0.1:1/x"):
        done = run(other, "demo", "--reset")
        assert done.exit_code == 2
        assert "secret" not in done.stderr
        assert done.stderr.startswith("error[invalid_argument]: --reset works on sqlite:///PATH")


def _at(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


def _env_without_columns() -> dict[str, str]:
    import os

    env = dict(os.environ)
    for name in ("COLUMNS", "LINES", "SOCIEUX_DEBUG"):
        env.pop(name, None)
    return env


def test_help_into_a_closed_pipe_is_quiet_too() -> None:
    done = subprocess.run(
        ["bash", "-c", f"{SOCIEUX} --help | head -0; echo ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.stdout, done.stderr) == ("0\n", "")
