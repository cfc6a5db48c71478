"""``socieux`` as real processes on a real SQLite file: a session, errors, the worker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import Engine
from tests.e2e.cli_support import SOCIEUX, process
from tests.helpers import event_count
from workflows.technical_assistance import definition
from workflows.technical_assistance.builders import ACTORS, request_payload


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    url = f"sqlite:///{tmp_path_factory.mktemp('process') / 'socieux.db'}"
    done = process("--db", url, "--json", "demo", "--requests", "8")
    assert done.returncode == 0, done.stderr
    return url, json.loads(done.stdout)


def test_demo_then_list_show_history_next_stats(session: tuple[str, dict], tmp_path: Path) -> None:
    url, summary = session
    plain = process("--db", f"sqlite:///{tmp_path / 'other.db'}", "demo", "--requests", "8")
    assert plain.returncode == 0
    assert plain.stdout.startswith("Loaded a demo portfolio")
    assert plain.stderr == ""  # piped: no progress bar, no escape codes
    listed = process("--db", url, "list")
    assert listed.returncode == 0
    assert f"1-8 of {summary['instances']} requests" in listed.stdout
    short = summary["sample_id"][:8]
    assert short in listed.stdout
    shown = process("--db", url, "show", short)
    assert shown.returncode == 0
    assert "disseminated" in shown.stdout
    assert "stage timeline" in shown.stdout
    history = process("--db", url, "history", short)
    assert history.returncode == 0
    assert "submit  (start) -> submitted" in history.stdout
    assert "disseminate  evaluated -> disseminated" in history.stdout
    nxt = process("--db", url, "next", short, "--as", "socieux_team:t-1")
    assert nxt.returncode == 0
    assert "nothing to do now for: socieux_team" in nxt.stdout
    stats = process("--db", url, "stats")
    assert stats.returncode == 0
    assert f"{summary['instances']} requests in {summary['countries']} countries" in stats.stdout
    assert all(proc.stderr == "" for proc in (listed, shown, history, nxt, stats))


def test_a_refused_fire_exits_3_and_writes_nothing(session: tuple[str, dict]) -> None:
    url, summary = session
    with Engine.open(url, workflows=[definition()]) as engine:
        before = event_count(engine)
    assert before == summary["events"] + summary["privacy"]["events"]
    sample = summary["sample_id"]
    refused = process("--db", url, "fire", sample, "approve", "--as", "commission:c-1")
    assert refused.returncode == 3
    assert refused.stderr.startswith("error[transition_not_allowed]: 'approve' is not allowed")
    assert refused.stderr.count("\n") == 1
    assert "Traceback" not in refused.stderr
    with Engine.open(url, workflows=[definition()]) as engine:
        assert event_count(engine) == before


def test_broken_json_exits_2_and_unknown_ids_exit_5(session: tuple[str, dict]) -> None:
    url, summary = session
    broken = process(
        "--db",
        url,
        "fire",
        summary["sample_id"],
        "disseminate",
        "--as",
        "socieux_team:t-1",
        "--data",
        "-",
        input='{"products": [',
    )
    assert broken.returncode == 2
    assert broken.stderr.startswith("error[invalid_argument]: invalid JSON in stdin")
    unknown = process("--db", url, "show", "0123abcd")
    assert unknown.returncode == 5
    assert unknown.stderr == "error[instance_not_found]: workflow instance 0123abcd not found\n"


def test_an_unreachable_database_is_one_clear_line() -> None:
    started = time.monotonic()
    down = process("--db", "postgresql://postgres@127.0.0.1:1/x?connect_timeout=1", "list")
    assert down.returncode == 2
    assert down.stderr.startswith("error[storage_unavailable]: ")
    assert "127.0.0.1:1" in down.stderr
    assert down.stderr.count("\n") == 1
    assert "Traceback" not in down.stderr
    assert down.stdout == ""
    assert time.monotonic() - started < 30


def test_projection_worker_applies_commands_and_stops_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    with Engine.open(url, workflows=[definition()], projection_mode="worker") as engine:
        worker = subprocess.Popen(
            [SOCIEUX, "--db", url, "projections", "run", "--poll", "0.05"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert worker.stderr is not None
            assert worker.stderr.readline().startswith(f"projection worker on {url}")
            view = engine.start("technical-assistance", request_payload(), actor=ACTORS["partner"])
            engine.wait_for(engine.last_position, timeout=20)  # applied by the worker
            [row] = engine.requests()
            assert (str(row.id), row.state) == (str(view.id), "submitted")
            worker.send_signal(signal.SIGTERM)
            out, err = worker.communicate(timeout=20)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert worker.returncode == 0
    assert err == "projection worker stopped\n"
    assert out == ""


def test_help_is_lazy_and_quick() -> None:
    helped = process("--help")
    assert helped.returncode == 0
    assert "show" in helped.stdout
    assert "projections" in helped.stdout
    code = (
        "import sys\nfrom engine.cli.app import build_app\nbuild_app()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('workflows', 'projections', 'psycopg') or m in "
        "('engine.cli.render', 'engine.cli.describe')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
