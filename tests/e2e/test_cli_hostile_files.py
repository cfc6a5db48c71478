"""Hostile files and paths: devices, FIFOs, full disks, odd JSON, NUL and non-UTF-8 bytes.

Every case must end in one ``error[CODE]`` line and exit 2 (never a traceback, never a
MemoryError), and a failed write must not leave a file that looks complete. Processes that
could exhaust memory on a regression run under ``RLIMIT_AS``; write failures on regular
files are made real with ``RLIMIT_FSIZE`` (EFBIG).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from engine.cli.inputs import DATA_LIMIT, KEY_LIMIT
from tests.e2e.cli_support import limited, run
from workflows.technical_assistance.builders import request_payload

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux devices and limits")

MEMORY = 1 << 30
"""The address space of a capped process: enough for the CLI, far from a device's size."""
SUBMIT = ("submit", "technical-assistance", "--as", "partner_institution:p-1")


def one_error_line(result: object, code: str = "invalid_argument") -> str:
    """Assert exit 2 and exactly one ``error[code]`` line on stderr, nothing on stdout."""
    rc = getattr(result, "exit_code", getattr(result, "returncode", None))
    err, out = result.stderr, result.stdout  # type: ignore[attr-defined]
    assert rc == 2, (rc, err)
    assert err.startswith(f"error[{code}]: "), err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert out == "", out
    return str(err)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


# ------------------------------------------------------------------ reading without limit
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((*SUBMIT, "--data", "/dev/zero"), "/dev/zero is larger than 1 MiB"),
        (("audit", "verify", "--file", "/dev/zero"), "/dev/zero is not a regular file"),
        (("audit", "seal", "--no-verify", "--key", "/dev/zero"), "key file /dev/zero is not"),
        (("audit", "verify", "--public-key", "/dev/zero"), "key file /dev/zero is not"),
    ],
)
def test_a_device_is_never_read_to_the_end(args: tuple[str, ...], expected: str, db: str) -> None:
    done = limited("--db", db, *args, memory=MEMORY)
    assert expected in one_error_line(done)


def test_stdin_is_capped_too(db: str) -> None:
    with Path("/dev/zero").open("rb") as zero:
        done = limited("--db", db, *SUBMIT, "--data", "-", stdin=zero, memory=MEMORY)
    assert "stdin is larger than 1 MiB" in one_error_line(done)


def test_data_of_exactly_the_limit_is_read(db: str, tmp_path: Path) -> None:
    text = json.dumps(request_payload(version=2))
    exact = tmp_path / "exact.json"
    exact.write_text(text + " " * (DATA_LIMIT - len(text.encode())), encoding="utf-8")
    assert run(db, *SUBMIT, "--data", str(exact)).exit_code == 0
    over = tmp_path / "over.json"
    over.write_bytes(exact.read_bytes() + b" ")
    assert "larger than 1 MiB" in one_error_line(run(db, *SUBMIT, "--data", str(over)))


def test_an_export_that_is_a_fifo_or_a_directory_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "export.fifo"
    os.mkfifo(fifo)
    done = limited("audit", "verify", "--file", str(fifo), timeout=20)  # not blocked opening
    assert "is not a regular file (a FIFO)" in one_error_line(done)
    err = one_error_line(run(None, "audit", "verify", "--file", str(tmp_path)))
    assert err.endswith("is not a regular file (a directory)\n")


def test_a_key_file_larger_than_the_cap_is_refused(db: str, tmp_path: Path) -> None:
    big = tmp_path / "big.pem"
    big.write_bytes(b"-----BEGIN PRIVATE KEY-----\n" + b"A" * KEY_LIMIT)
    for option in ("--key", "--public-key"):
        command = ("seal", "--no-verify") if option == "--key" else ("verify",)
        err = one_error_line(run(db, "audit", *command, option, str(big)))
        assert f"larger than 64 KiB (the limit for {option})" in err


# ------------------------------------------------------------------ odd content
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'\xef\xbb\xbf{"a": 1}', "starts with a UTF-8 byte order mark"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"a": ' + b"7" * 1_000_000 + b"}", "a JSON number has more than"),
        (b'{"a": -' + b"7" * 5_000 + b"}", "a JSON number has more than"),
        (b"\xff\xfe{\x00}", "is not UTF-8 text"),
    ],
)
def test_odd_json_is_one_line(content: bytes, expected: str, db: str, tmp_path: Path) -> None:
    path = tmp_path / "payload.json"
    path.write_bytes(content)
    assert expected in one_error_line(run(db, *SUBMIT, "--data", str(path)))
    assert expected in one_error_line(run(db, *SUBMIT, "--data", "-", input=content))


# ------------------------------------------------------------------ writing
def test_export_to_a_full_device_names_it_and_the_reason(db: str) -> None:
    err = one_error_line(run(db, "audit", "export", "-o", "/dev/full"))
    assert err == "error[invalid_argument]: cannot write /dev/full: No space left on device\n"


@pytest.mark.parametrize(
    "args",
    [("audit", "export"), ("--json", "list"), ("workflows", "list"), ("--json", "audit", "seals")],
)
def test_a_full_stdout_is_one_line_and_exit_2(args: tuple[str, ...], db: str) -> None:
    with Path("/dev/full").open("w") as full:
        done = limited("--db", db, *args, stdout=full)
    assert done.returncode == 2, done.stderr
    message = "cannot write stdout: No space left on device"
    if "--json" in args:  # under --json the error is JSON too
        assert json.loads(done.stderr) == {
            "error": {"code": "invalid_argument", "message": message}
        }
    else:
        assert done.stderr == f"error[invalid_argument]: {message}\n"


def test_a_closed_pipe_on_stdout_ends_quietly(db: str) -> None:
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as closed:
        done = limited("--db", db, "audit", "export", stdout=closed)
    assert (done.returncode, done.stderr) == (0, "")  # like git: EPIPE is not an error


def test_a_failed_export_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    new, old = tmp_path / "new.jsonl", tmp_path / "old.jsonl"
    old.write_text("the previous export\n", encoding="utf-8")
    for target in (new, old):
        done = limited("--db", "memory://", "audit", "export", "-o", str(target), file_size=64)
        assert one_error_line(done).endswith(f"cannot write {target}: File too large\n")
    assert not new.exists()
    assert old.read_text(encoding="utf-8") == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.jsonl"]  # no temporary file


def test_an_export_the_engine_refuses_leaves_no_file(db: str, tmp_path: Path) -> None:
    target = tmp_path / "one.jsonl"
    result = run(db, "audit", "export", "-o", str(target), "--instance", "abcd1234")
    assert result.exit_code == 5
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_complete_export_replaces_the_target_with_its_mode(db: str, tmp_path: Path) -> None:
    target = tmp_path / "export.jsonl"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    assert run(db, "audit", "export", "-o", str(target)).exit_code == 0
    assert target.read_text(encoding="utf-8").startswith('{"type":"header"')
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failed_keygen_leaves_neither_key_file(tmp_path: Path) -> None:
    key = tmp_path / "seal-key"
    done = limited("audit", "keygen", str(key), file_size=64)
    assert one_error_line(done).endswith(f"cannot write {key}: File too large\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["export", "keygen"])
@pytest.mark.parametrize(
    ("where", "reason"),
    [("missing/out", "No such file or directory"), ("file/out", "Not a directory")],
)
def test_writing_where_no_file_can_be_names_the_file(
    command: str, where: str, reason: str, db: str, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    target = tmp_path / where
    args = ("export", "-o", str(target)) if command == "export" else ("keygen", str(target))
    err = one_error_line(run(db, "audit", *args))
    assert err == f"error[invalid_argument]: cannot write {target}: {reason}\n"


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs sysfs")
@pytest.mark.parametrize("command", ["export", "keygen"])
def test_a_read_only_place_is_one_line(command: str, db: str) -> None:
    """sysfs refuses new files even to root (EACCES, or EROFS when mounted read-only)."""
    target = "/sys/socieux-test-output"
    args = ("export", "-o", target) if command == "export" else ("keygen", target)
    assert f"cannot write {target}: " in one_error_line(run(db, "audit", *args))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_directory_is_permission_denied(db: str, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    err = one_error_line(run(db, "audit", "export", "-o", str(locked / "x.jsonl")))
    assert err.endswith("Permission denied\n")


# ------------------------------------------------------------------ hostile path values
READS = [
    (*SUBMIT, "--data"),
    ("audit", "verify", "--file"),
    ("audit", "verify", "--public-key"),
    ("audit", "seal", "--no-verify", "--key"),
]
WRITES = [("audit", "export", "-o"), ("audit", "keygen")]


@pytest.mark.parametrize("command", READS + WRITES, ids=lambda c: " ".join(c[-2:]))
@pytest.mark.parametrize("value", ["DIR", "DIR/missing/x", "", "a\x00b", "DIR/missing/\udcff"])
def test_every_path_option_answers_hostile_values_with_one_line(
    command: tuple[str, ...], value: str, db: str, tmp_path: Path
) -> None:
    err = one_error_line(run(db, *command, value.replace("DIR", str(tmp_path))))
    assert "\x00" not in err
    assert "\udcff" not in err


@pytest.mark.parametrize(
    "args",
    [
        ("show", "abcd1234", "--as-of", ""),
        ("audit", "export", "--since", ""),
        ("audit", "diff", "abcd1234", "--from", "2025-01-01", "--to", ""),
        ("next", "abcd1234", "--as", ""),
    ],
)
def test_an_empty_time_or_actor_is_refused_not_ignored(args: tuple[str, ...], db: str) -> None:
    one_error_line(run(db, *args))


@pytest.mark.parametrize("url", ["sqlite:///a\x00b.db", "memory://\x00"])
def test_a_database_url_with_nul_is_one_line(url: str) -> None:
    one_error_line(run(url, "list"))


def test_an_id_with_a_newline_stays_on_one_line_and_whole(db: str) -> None:
    result = run(db, "show", "abcd\nefgh")
    assert result.exit_code == 5
    assert result.stderr == (
        "error[instance_not_found]: workflow instance abcd\\nefgh not found: "
        "give at least 4 hex characters of the id\n"
    )


def test_non_utf8_argv_bytes_are_written_to_and_shown_escaped(tmp_path: Path) -> None:
    export = os.fsencode(tmp_path) + b"/\xff.jsonl"
    done = limited("--db", "memory://", "audit", "export", "-o", export)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(f"to {tmp_path}/\\xff.jsonl\n")
    assert Path(os.fsdecode(export)).exists()
    key = os.fsencode(tmp_path) + b"/\xfekey"
    made = limited("--json", "audit", "keygen", key)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["private_key"] == f"{tmp_path}/\\xfekey"
    missing = limited("--db", "memory://", "submit", b"\xff", "--as", "partner_institution:p")
    assert missing.returncode in (2, 5), missing.stderr  # refused as text, or not found
    assert missing.stderr.startswith("error[")
    assert len(missing.stderr.splitlines()) == 1
