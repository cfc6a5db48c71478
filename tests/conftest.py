"""Shared fixtures: engines on memory, a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import Engine, WorkflowDefinition
from tests.toy import toy_definition

pytest_plugins = ["engine.testing.fixtures"]  # the fixtures host apps get (socieux_engine, ...)

POSTGRES_URL = os.environ.get("SOCIEUX_TEST_POSTGRES", "")
BACKENDS = ["memory", "sqlite", "postgres"]


def postgres_or_skip() -> str:
    if not POSTGRES_URL:
        if os.environ.get("SOCIEUX_REQUIRE_POSTGRES"):
            pytest.fail("SOCIEUX_REQUIRE_POSTGRES is set but SOCIEUX_TEST_POSTGRES is not")
        pytest.skip("SOCIEUX_TEST_POSTGRES is not set (no PostgreSQL server for this run)")
    return POSTGRES_URL


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(autouse=True, scope="session")
def _key_encryption_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One key-encryption key for the run (PostgreSQL needs one configured; SQLite would
    make one beside each file): tests of the defaults unset ``SOCIEUX_KEY_FILE``."""
    if os.environ.get("SOCIEUX_KEY_FILE"):
        yield
        return
    path = tmp_path_factory.mktemp("kek") / "socieux.key"
    path.write_text(os.urandom(32).hex() + "\n")
    path.chmod(0o600)
    os.environ["SOCIEUX_KEY_FILE"] = str(path)
    yield
    os.environ.pop("SOCIEUX_KEY_FILE", None)


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """CLI tests configure structlog globally; give every test the library defaults back."""
    yield
    import structlog

    structlog.reset_defaults()


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, isolated store URL for the backend named by ``request.param``."""
    kind = getattr(request, "param", "memory")
    if kind == "memory":
        yield "memory://"
    elif kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        base = postgres_or_skip()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}schema={schema}"
        drop_schema(schema)


EngineFactory = Callable[..., Engine]


@pytest.fixture
def open_engine(store_url: str) -> Iterator[EngineFactory]:
    """Open engines on the test's store (several may be opened: reopen tests)."""
    opened: list[Engine] = []

    def factory(*, workflows: list[WorkflowDefinition] | None = None, **kw: object) -> Engine:
        engine = Engine.open(store_url, workflows=workflows or [toy_definition()], **kw)  # type: ignore[arg-type]
        opened.append(engine)
        return engine

    yield factory
    for engine in opened:
        engine.close()
