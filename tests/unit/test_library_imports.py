"""The library path (import the engine, open it on SQLite, command and query) imports
nothing of the CLI, the console or structlog's extras, and still logs with its bound ids."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_OPEN_AND_USE = """
import logging, sys
from engine import Engine
from tests.helpers import REQUESTER, submit
from tests.toy import toy_definition

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record)
logger = logging.getLogger("socieux")
logger.addHandler(Keep())
logger.setLevel(logging.DEBUG)
engine = Engine.open(sys.argv[1], workflows=[toy_definition()])
with engine.context(correlation_id="corr-1"):
    iid = submit(engine)
engine.requests(limit=1)
engine.close()
roots = {m.split(".")[0] for m in sys.modules}
print(sorted(roots & {"rich", "typer", "click", "starlette", "jinja2", "pygments", "structlog",
                      "asyncio"}))
print(sorted({r.socieux.get("correlation_id") for r in records if hasattr(r, "socieux")}))
"""


def test_an_opened_engine_imports_no_cli_console_or_structlog(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    out = subprocess.run(
        [sys.executable, "-c", _OPEN_AND_USE, url],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    imported, correlation = out.stdout.strip().splitlines()
    assert imported == "[]"
    assert "'corr-1'" in correlation  # the bound id reaches stdlib records without structlog
