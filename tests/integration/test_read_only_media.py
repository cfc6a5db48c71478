"""``?mode=ro`` reads a SQLite file on read-only media (here: a ``chattr +i`` folder)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine, StorageUnavailable
from engine.testing import walk_to


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[Path]:
    """A closed WAL-mode database in a folder nobody can write to (root included)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    folder = tmp_path / "media"
    folder.mkdir()
    with Engine.open(f"sqlite:///{folder / 'x.db'}") as engine:
        walk_to(engine, "approved")
        engine.requests()  # projections up to date in the file
    made = subprocess.run(["chattr", "+i", str(folder / "x.db"), str(folder)], check=False)
    if made.returncode != 0:
        pytest.skip("chattr +i is not permitted here")
    yield folder / "x.db"
    subprocess.run(["chattr", "-i", str(folder / "x.db"), str(folder)], check=True)


def test_a_wal_database_on_read_only_media_opens_read_only(frozen: Path) -> None:
    with Engine.open(f"sqlite:///{frozen}?mode=ro") as engine:
        assert engine.projection_mode == "worker"
        (row,) = engine.requests()
        assert engine.get(str(row.id)[:8]).state == "approved"  # type: ignore[attr-defined]
        assert engine.verify().ok
    assert sorted(p.name for p in frozen.parent.iterdir()) == ["x.db"]  # nothing created


def test_a_write_ahead_log_without_its_index_on_read_only_media_is_refused_clearly(
    tmp_path: Path,
) -> None:
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "x.db").write_bytes(b"")
    (folder / "x.db-wal").write_bytes(b"not empty")
    if subprocess.run(["chattr", "+i", str(folder)], check=False).returncode != 0:
        pytest.skip("chattr +i is not permitted here")
    try:
        with pytest.raises(StorageUnavailable, match="no -shm file and the folder is read-only"):
            Engine.open(f"sqlite:///{folder / 'x.db'}?mode=ro")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
