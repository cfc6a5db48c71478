"""pytest fixtures for host apps' tests. In ``conftest.py``::

    pytest_plugins = ["engine.testing.fixtures"]

* ``socieux_engine``: an in-memory engine with every installed workflow and projection.
* ``socieux_sqlite_engine``: the same on a SQLite file in ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.facade import Engine
from engine.testing.builders import memory_engine

__all__ = ["socieux_engine", "socieux_sqlite_engine"]


@pytest.fixture
def socieux_engine() -> Iterator[Engine]:
    """An in-memory engine with the installed workflows and projections."""
    with memory_engine() as engine:
        yield engine


@pytest.fixture
def socieux_sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a SQLite file in the test's ``tmp_path``."""
    with Engine.open(f"sqlite:///{tmp_path / 'socieux.db'}") as engine:
        yield engine
